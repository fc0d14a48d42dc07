"""TLC month files for ``tripcast ingest --from file`` (the ``MonthFiles`` port): found or downloaded, or generated."""

from __future__ import annotations

from pathlib import Path

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import TripDataSource


class TlcMonthFiles:
    """Months from a :class:`TripDataSource` over TLC files; synthetic months written into ``raw_dir``."""

    def __init__(self, source: TripDataSource, raw_dir: Path, service: str = "green") -> None:
        self.source = source
        self.raw_dir = Path(raw_dir)
        self.service = service

    def fetch(self, month: Month) -> str:
        """The month's local file (a given file or folder, the raw folder, else downloaded)."""
        return self.source.fetch(month)

    def write_synthetic(self, month: Month, rows: int) -> str:
        """A month of generated trips (seeded by the month number: reruns write the same file)."""
        from tripcast.data_engineering.tlc.synthetic import write_synthetic_month

        return str(write_synthetic_month(self.raw_dir, month, rows, seed=month.month, service=self.service))

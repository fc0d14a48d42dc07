"""Ports for getting trips in, checking them and keeping them.

The base protocols (:class:`TripDataSource`, :class:`DatasetStore`) are what any source
or store offers; the month-file protocols (:class:`TripFileSource`, :class:`MonthDatasetStore`)
add what batch-wise validation and the pipeline use, so no caller reaches for a method
that no port declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tripcast.core.domain.month import Month
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class RawDataset:
    """A month of raw trips and where they came from."""

    table: Table
    month: Month
    source: str
    digest: str = ""


@dataclass(frozen=True, slots=True)
class RawBatches:
    """A month of raw trips read batch by batch, so memory holds one batch at a time.

    ``batches`` is consumed once; each table is in the canonical schema.
    """

    month: Month
    source: str
    digest: str
    batches: Iterable[Table]


class TripDataSource(Protocol):
    """Where raw trip records come from (TLC files, a database, an API, a stream...)."""

    def fetch(self, month: Month) -> str:
        """Make the month available locally (download if needed); return where it lives."""
        ...

    def load(self, month: Month) -> RawDataset:
        """Read one month of raw trips in the canonical schema."""
        ...


class TripFileSource(TripDataSource, Protocol):
    """A source of month files that also reads any given file and reads a month in batches."""

    def load_file(self, path: Path | str) -> RawDataset:
        """Any trip file; the month comes from its name, else from its most frequent pickup month."""
        ...

    def read_batches(self, month: Month, batch_rows: int) -> RawBatches:
        """The month's trips in batches of at most ``batch_rows`` rows, with the file's digest."""
        ...


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    """Rows split into valid and quarantined; ``reasons`` counts quarantined rows per reason."""

    valid: Table
    quarantined: Table
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        return len(self.valid)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantined)


class TripValidator(Protocol):
    """Splits raw trips into valid rows and quarantined rows with reasons."""

    def split(self, dataset: RawDataset) -> ValidationOutcome:
        """Every input row ends up in exactly one of the two outputs."""
        ...


class DatasetStore(Protocol):
    """Keeps processed and quarantined trips between steps."""

    def save_processed(self, month: Month, table: Table) -> str:
        """Store valid rows for the month; return the location."""
        ...

    def save_quarantine(self, month: Month, table: Table) -> str:
        """Store quarantined rows (with their reason column); return the location."""
        ...

    def load_processed(self, month: Month) -> Table:
        """Valid rows of a month previously saved; NotFoundError if absent."""
        ...

    def has_processed(self, month: Month) -> bool:
        """Whether the month was already processed."""
        ...

    def load_processed_months(self, months: Sequence[Month]) -> Table:
        """Valid rows of several processed months as one table, in ``months`` order (a training window)."""
        ...


class MonthWriter(Protocol):
    """Receives a month's validated batches; nothing is visible to readers until :meth:`commit`."""

    def write(self, outcome: ValidationOutcome) -> None:
        """Append one batch's valid and quarantined rows."""
        ...

    def commit(self) -> tuple[str, str]:
        """Publish both files (each by an atomic rename); return (processed, quarantine) locations."""
        ...

    def abort(self) -> None:
        """Drop what was written; the previously published files, if any, stay as they were."""
        ...


class MonthDatasetStore(DatasetStore, Protocol):
    """A store of one file per month, written batch by batch."""

    def processed_path(self, month: Month) -> Path:
        """Where the month's valid rows live (whether or not they exist yet)."""
        ...

    def quarantine_path(self, month: Month) -> Path:
        """Where the month's quarantined rows live."""
        ...

    def load_quarantine(self, month: Month) -> Table:
        """Quarantined rows of a month previously saved; NotFoundError if absent."""
        ...

    def open_month(self, month: Month) -> MonthWriter:
        """A writer for the month's outputs, replacing them atomically on commit."""
        ...

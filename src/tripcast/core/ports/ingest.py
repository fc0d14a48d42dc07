"""Ports for pulling trips from a source (database, API, stream) into the raw landing area.

A source yields batches of canonical trips plus the records it could not turn into trips (with why); the
landing store writes the accepted trips as one raw parquet file per month, atomically, where
``tripcast validate`` finds them. Sources that deliver at least once (streams, watermarked tables) are
acknowledged only after the landing files are in place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from tripcast.core.domain.month import Month
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that could not become a trip: its id at the source and the reason."""

    record_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """Trips decoded from one read of a source (``rows`` of them) and the records rejected on the way."""

    table: Table
    rows: int
    rejected: tuple[RejectedRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class LandedFile:
    """One raw month file the landing store wrote: ``rows`` added by this run, ``total_rows`` in the file."""

    month: Month
    path: str
    rows: int
    total_rows: int


class IngestSource(Protocol):
    """Where trips are pulled from; ``describe`` names it without secrets (for reports and the audit)."""

    def describe(self) -> str:
        """The source, credentials masked (e.g. ``postgresql://app:***@db/trips#green_trips``)."""
        ...

    def batches(self, month: Month | None) -> Iterator[SourceBatch]:
        """Batches of the month's trips (every month a stream holds when ``month`` is None), until exhausted."""
        ...

    def acknowledge(self) -> None:
        """Everything read so far has landed: ack stream events, advance watermarks."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LandingStore(Protocol):
    """The raw landing area: batches accumulate in temporary files, published together on :meth:`commit`."""

    def write(self, month: Month | None, table: Table) -> list[RejectedRecord]:
        """Add trips to ``month``'s file (to their pickup month's when None); return rows it cannot place."""
        ...

    def commit(self) -> list[LandedFile]:
        """Move every file written since the last commit into place atomically; return them."""
        ...

    def abort(self) -> None:
        """Drop what was written since the last commit; the landed files stay as they were."""
        ...

    def save_rejected(self, source: str, rejected: Sequence[RejectedRecord]) -> str:
        """Keep rejected records with their reasons (the ingest quarantine); return where."""
        ...


class MonthFiles(Protocol):
    """TLC month files: found locally or downloaded (``tripcast ingest --from file``), or generated."""

    def fetch(self, month: Month) -> str:
        """Make the month's file available in the raw folder; return its path."""
        ...

    def write_synthetic(self, month: Month, rows: int) -> str:
        """Write a month of generated trips in TLC's format; return its path."""
        ...

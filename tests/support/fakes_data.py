"""In-memory fakes of the data ports (source, validator, store, audit, clock) for service tests.

Tables are plain lists of row dicts: the core only counts rows and hands tables between ports.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import RawBatches, RawDataset, ValidationOutcome

Row = dict[str, Any]


class FixedClock(Clock):
    def __init__(self, at: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class MemoryAudit(AuditLog):
    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        hits = [e for e in reversed(self.recorded) if e.subject.startswith(subject_prefix)]
        return [e for e in hits if actions is None or e.action in actions][:limit]


@dataclass
class MemorySource:
    """A month of rows per month, served in batches; counts what was asked of it."""

    rows: dict[Month, list[Row]]
    fetched: list[Month] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)

    def fetch(self, month: Month) -> str:
        self.fetched.append(month)
        return f"memory://{month}"

    def load(self, month: Month) -> RawDataset:
        return RawDataset(list(self.rows[month]), month, f"memory://{month}", f"digest-{month}")

    def load_file(self, path: Path | str) -> RawDataset:
        month = Month.parse(Path(path).stem[-7:])
        return self.load(month)

    def read_batches(self, month: Month, batch_rows: int) -> RawBatches:
        rows = self.rows[month]

        def batches() -> Iterator[list[Row]]:
            for start in range(0, max(len(rows), 1), batch_rows):
                batch = rows[start : start + batch_rows]
                self.batch_sizes.append(len(batch))
                yield batch

        return RawBatches(month, f"memory://{month}", f"digest-{month}", batches())


class RuleValidator:
    """Quarantines rows whose ``minutes`` is not positive, with reason ``dropoff_not_after_pickup``."""

    def __init__(self, lose_a_row: bool = False) -> None:
        self.lose_a_row = lose_a_row

    def split(self, dataset: RawDataset) -> ValidationOutcome:
        valid = [r for r in dataset.table if r["minutes"] > 0]
        bad = [dict(r, quarantine_reason="dropoff_not_after_pickup") for r in dataset.table if r["minutes"] <= 0]
        if self.lose_a_row and valid:
            valid = valid[1:]
        reasons = {"dropoff_not_after_pickup": len(bad)} if bad else {}
        return ValidationOutcome(valid=valid, quarantined=bad, reasons=reasons)


@dataclass
class MemoryWriter:
    store: MemoryStore
    month: Month
    valid: list[Row] = field(default_factory=list)
    quarantined: list[Row] = field(default_factory=list)
    fail_on_batch: int | None = None
    batches: int = 0

    def write(self, outcome: ValidationOutcome) -> None:
        self.batches += 1
        if self.fail_on_batch == self.batches:
            raise OSError(28, "No space left on device")
        self.valid += outcome.valid
        self.quarantined += outcome.quarantined

    def commit(self) -> tuple[str, str]:
        self.store.processed[self.month] = self.valid
        self.store.quarantined[self.month] = self.quarantined
        return str(self.store.processed_path(self.month)), str(self.store.quarantine_path(self.month))

    def abort(self) -> None:
        self.store.aborted.append(self.month)


@dataclass
class MemoryStore:
    processed: dict[Month, list[Row]] = field(default_factory=dict)
    quarantined: dict[Month, list[Row]] = field(default_factory=dict)
    aborted: list[Month] = field(default_factory=list)
    fail_on_batch: int | None = None

    def save_processed(self, month: Month, table: list[Row]) -> str:
        self.processed[month] = table
        return str(self.processed_path(month))

    def save_quarantine(self, month: Month, table: list[Row]) -> str:
        self.quarantined[month] = table
        return str(self.quarantine_path(month))

    def load_processed(self, month: Month) -> list[Row]:
        return self.processed[month]

    def load_quarantine(self, month: Month) -> list[Row]:
        return self.quarantined[month]

    def has_processed(self, month: Month) -> bool:
        return month in self.processed

    def load_processed_months(self, months: list[Month]) -> list[Row]:
        return [row for month in months for row in self.processed[month]]

    def processed_path(self, month: Month) -> Path:
        return Path(f"/mem/processed/{month}.parquet")

    def quarantine_path(self, month: Month) -> Path:
        return Path(f"/mem/quarantine/{month}.parquet")

    def open_month(self, month: Month) -> MemoryWriter:
        return MemoryWriter(self, month, fail_on_batch=self.fail_on_batch)

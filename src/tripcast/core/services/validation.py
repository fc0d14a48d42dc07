"""Validate a month of trips batch by batch: valid rows to the processed file, the rest quarantined with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import MonthDatasetStore, RawBatches, RawDataset, TripFileSource, TripValidator

#: Rows per batch: large enough for vectorised checks to pay off, small enough that a month of any
#: size validates in a bounded amount of memory (one batch of canonical trips is about 200 MB).
DEFAULT_BATCH_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Where every input row of a month went."""

    month: Month
    source: str
    n_input: int
    n_valid: int
    n_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    processed_path: str = ""
    quarantine_path: str = ""


class RowsUnaccountedError(RuntimeError):
    """The validator lost or invented rows; this is a bug, never a data problem."""


@dataclass
class _Tally:
    """Running row counts over the batches of one month."""

    n_input: int = 0
    n_valid: int = 0
    n_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, n_input: int, n_valid: int, n_quarantined: int, reasons: dict[str, int]) -> None:
        self.n_input += n_input
        self.n_valid += n_valid
        self.n_quarantined += n_quarantined
        for reason, count in reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count


class Validation:
    """The validation use cases: validate a month, or make sure it was validated.

    Every input row ends up in exactly one output; a run publishes both outputs only when
    every batch passed (a failure leaves the previous files untouched), then records
    ``dataset.validated`` in the audit log.
    """

    def __init__(
        self,
        source: TripFileSource,
        validator: TripValidator,
        store: MonthDatasetStore,
        audit: AuditLog,
        clock: Clock,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self._source = source
        self._validator = validator
        self._store = store
        self._audit = audit
        self._clock = clock
        self._batch_rows = batch_rows

    def validate(self, month: Month, *, actor: str = "tripcast") -> ValidationReport:
        """Split ``month`` into processed and quarantined rows; return where every row went."""
        raw = self._source.read_batches(month, self._batch_rows)
        tally, processed, quarantine = self._split_batches(raw)
        self._audit.record(
            AuditEvent(
                at=self._clock.now(),
                actor=actor,
                action="dataset.validated",
                subject=f"dataset:{processed}",
                details={
                    "source": raw.source,
                    "source_digest": raw.digest,
                    "rows_in": str(tally.n_input),
                    "rows_valid": str(tally.n_valid),
                    "rows_quarantined": str(tally.n_quarantined),
                    "quarantine": quarantine,
                },
            )
        )
        return ValidationReport(
            month=month,
            source=raw.source,
            n_input=tally.n_input,
            n_valid=tally.n_valid,
            n_quarantined=tally.n_quarantined,
            reasons=dict(sorted(tally.reasons.items(), key=lambda item: -item[1])),
            processed_path=processed,
            quarantine_path=quarantine,
        )

    def ensure_processed(self, month: Month, *, actor: str = "tripcast") -> ValidationReport | None:
        """Validate ``month`` unless it was already processed; return the report when work was done."""
        if self._store.has_processed(month):
            return None
        self._source.fetch(month)
        return self.validate(month, actor=actor)

    def _split_batches(self, raw: RawBatches) -> tuple[_Tally, str, str]:
        """Validate and write every batch; publish both outputs only after the last one."""
        tally = _Tally()
        writer = self._store.open_month(raw.month)
        try:
            for table in raw.batches:
                outcome = self._validator.split(RawDataset(table, raw.month, raw.source, raw.digest))
                n_input = len(table)
                if outcome.n_valid + outcome.n_quarantined != n_input:
                    raise RowsUnaccountedError(
                        f"{raw.month}: {n_input} input rows but {outcome.n_valid} valid"
                        f" + {outcome.n_quarantined} quarantined"
                    )
                writer.write(outcome)
                tally.add(n_input, outcome.n_valid, outcome.n_quarantined, outcome.reasons)
            processed, quarantine = writer.commit()
        except BaseException:
            writer.abort()
            raise
        return tally, processed, quarantine

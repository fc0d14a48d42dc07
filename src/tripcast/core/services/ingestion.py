"""Ingest and validate a month of trips."""

from __future__ import annotations

from dataclasses import dataclass, field

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore, TripDataSource, TripValidator


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


def validate_month(
    source: TripDataSource,
    validator: TripValidator,
    store: DatasetStore,
    month: Month,
    *,
    audit: AuditLog | None = None,
    clock: Clock | None = None,
    actor: str = "tripcast",
) -> ValidationReport:
    """Split a month into processed and quarantined rows; every input row is accounted for."""
    raw = source.load(month)
    outcome = validator.split(raw)
    n_input = len(raw.table)
    if outcome.n_valid + outcome.n_quarantined != n_input:
        raise RowsUnaccountedError(
            f"{month}: {n_input} input rows but {outcome.n_valid} valid + {outcome.n_quarantined} quarantined"
        )
    processed_path = store.save_processed(month, outcome.valid)
    quarantine_path = store.save_quarantine(month, outcome.quarantined)
    if audit is not None and clock is not None:
        audit.record(
            AuditEvent(
                at=clock.now(),
                actor=actor,
                action="dataset.validated",
                subject=f"dataset:{processed_path}",
                details={
                    "source": raw.source,
                    "source_digest": raw.digest,
                    "rows_in": str(n_input),
                    "rows_valid": str(outcome.n_valid),
                    "rows_quarantined": str(outcome.n_quarantined),
                    "quarantine": quarantine_path,
                },
            )
        )
    return ValidationReport(
        month=month,
        source=raw.source,
        n_input=n_input,
        n_valid=outcome.n_valid,
        n_quarantined=outcome.n_quarantined,
        reasons=dict(sorted(outcome.reasons.items(), key=lambda item: -item[1])),
        processed_path=processed_path,
        quarantine_path=quarantine_path,
    )


def ensure_processed(
    source: TripDataSource,
    validator: TripValidator,
    store: DatasetStore,
    month: Month,
    *,
    audit: AuditLog | None = None,
    clock: Clock | None = None,
    actor: str = "tripcast",
) -> ValidationReport | None:
    """Validate a month unless it was already processed; return the report when work was done."""
    if store.has_processed(month):
        return None
    source.fetch(month)
    return validate_month(source, validator, store, month, audit=audit, clock=clock, actor=actor)

"""Feature store use cases: materialize the zone features."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.features import ZoneFeatureMaintenance


@dataclass(frozen=True, slots=True)
class MaterializeResult:
    """Rows per feature view offline, their staleness online, and what the tables were built from."""

    rows: dict[str, int]
    staleness_seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)


class FeatureStoreService:
    """Offline tables built and loaded into the online store, each run recorded in the audit trail."""

    def __init__(self, store: ZoneFeatureMaintenance, audit: AuditLog, clock: Clock, actor: str = "tripcast") -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self.actor = actor

    def materialize(
        self, start: datetime, end: datetime, trips: list[str] | None = None, tlc: list[str] | None = None
    ) -> MaterializeResult:
        """Build the offline tables, load ``start``..``end`` online; records ``features.materialized``."""
        if end <= start:
            raise InvalidInputError([FieldProblem("end", f"{end:%Y-%m-%d %H:%M} is not after {start:%Y-%m-%d %H:%M}")])
        rows, notes = self.store.build_offline_tables(list(trips or []), list(tlc or []))
        self.store.materialize(start, end)
        staleness = self.store.freshness(end)
        self.audit.record(
            AuditEvent(
                at=self.clock.now(),
                actor=self.actor,
                action="features.materialized",
                subject="feature_store:zone",
                details={
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    **{f"rows_{k}": str(v) for k, v in rows.items()},
                },
            )
        )
        return MaterializeResult(rows=rows, staleness_seconds=staleness, notes=notes)

"""FeatureStoreService against an in-memory fake of the feature store: result and audit event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.features import ZoneFeatureMaintenance
from tripcast.core.services.features import FeatureStoreService

START, END = datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 2, 1, tzinfo=UTC)


class FakeStore(ZoneFeatureMaintenance):
    def __init__(self, pipeline_output: bool = True) -> None:
        self.pipeline_output = pipeline_output
        self.online: list[tuple[datetime, datetime]] = []

    def build_offline_tables(self, trips: list[str], tlc: list[str]) -> tuple[dict[str, int], list[str]]:
        if not (trips or tlc or self.pipeline_output):
            raise NotFoundError("no pipeline output and no validated months")
        return {"zone_hour_stats": 10 * (len(trips) + len(tlc) + 1), "zone_pair_stats": 7}, [f"from {trips + tlc}"]

    def materialize(self, start: datetime, end: datetime) -> None:
        self.online.append((start, end))

    def freshness(self, at: datetime) -> dict[str, float]:
        return {"zone_hour_stats": 3600.0, "zone_pair_stats": 0.0} if self.online else {}


class InMemoryAudit(AuditLog):
    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(self, subject_prefix: str = "", limit: int = 100, actions: object = None) -> list[AuditEvent]:
        return self.recorded[:limit]


class FixedClock(Clock):
    def now(self) -> datetime:
        return datetime(2026, 12, 7, tzinfo=UTC)


def test_materialize_loads_the_window_and_records_the_rows() -> None:
    store, audit = FakeStore(), InMemoryAudit()
    result = FeatureStoreService(store, audit, FixedClock()).materialize(START, END, trips=["a.parquet"])
    assert store.online == [(START, END)]
    assert result.rows == {"zone_hour_stats": 20, "zone_pair_stats": 7}
    assert result.staleness_seconds["zone_hour_stats"] == 3600.0 and result.notes == ["from ['a.parquet']"]
    (event,) = audit.recorded
    assert (event.action, event.subject, event.at) == (
        "features.materialized",
        "feature_store:zone",
        FixedClock().now(),
    )
    assert event.details == {
        "start": START.isoformat(), "end": END.isoformat(), "rows_zone_hour_stats": "20", "rows_zone_pair_stats": "7",
    }  # fmt: skip


def test_an_empty_window_is_refused_before_any_work() -> None:
    store, audit = FakeStore(), InMemoryAudit()
    with pytest.raises(InvalidInputError, match="end"):
        FeatureStoreService(store, audit, FixedClock()).materialize(END, START)
    assert store.online == [] and audit.recorded == []


def test_nothing_to_build_from_is_not_found_and_not_audited() -> None:
    store, audit = FakeStore(pipeline_output=False), InMemoryAudit()
    with pytest.raises(NotFoundError):
        FeatureStoreService(store, audit, FixedClock()).materialize(START, END)
    assert store.online == [] and audit.recorded == []

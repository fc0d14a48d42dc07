"""AuditTrailService against an in-memory audit trail (no database): results and the events it writes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import pytest

from tripcast.core.domain.audit import AuditChainBrokenError, AuditEvent, VerifiedTrail
from tripcast.core.ports.audit import VerifiableAuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.services.audit import LEGACY_ADOPTED_ACTION, AuditTrailService

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


class InMemoryAuditLog(VerifiableAuditLog):
    """Keeps events in a list; ``broken_at`` makes verify fail as a tampered trail would."""

    def __init__(self, events: list[AuditEvent] | None = None, legacy_rows: int = 0) -> None:
        self.recorded: list[AuditEvent] = list(events or [])
        self.legacy_rows = legacy_rows
        self.broken_at: int | None = None

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        matching = [
            e
            for e in reversed(self.recorded)
            if e.subject.startswith(subject_prefix) and (actions is None or e.action in actions)
        ]
        return matching[:limit]

    def verify(self) -> VerifiedTrail:
        if self.broken_at is not None:
            raise AuditChainBrokenError(f"audit row {self.broken_at} does not match its HMAC")
        return VerifiedTrail(len(self.recorded), self.legacy_rows, len(self.recorded), "ab" * 32)

    def adopt_legacy(self) -> int:
        adopted, self.legacy_rows = len(self.recorded), len(self.recorded)
        return adopted


def _event(action: str, subject: str) -> AuditEvent:
    return AuditEvent(NOW, "tester", action, subject)


def test_recent_lists_newest_first_filtered_by_subject_and_limited():
    log = InMemoryAuditLog([_event("model.registered", "model:m/1"), _event("dataset.validated", "dataset:2021-01")])
    log.record(_event("model.promoted", "model:m/1"))
    service = AuditTrailService(log, FixedClock())

    assert [e.action for e in service.recent("model:")] == ["model.promoted", "model.registered"]
    assert [e.action for e in service.recent("", limit=1)] == ["model.promoted"]


def test_verify_returns_what_was_checked_and_writes_nothing():
    log = InMemoryAuditLog([_event("model.registered", "model:m/1")])
    trail = AuditTrailService(log, FixedClock()).verify()

    assert trail.events == 1 and trail.legacy_events == 0
    assert len(log.recorded) == 1


def test_verify_of_a_tampered_trail_raises_naming_the_row():
    log = InMemoryAuditLog([_event("model.registered", "model:m/1")])
    log.broken_at = 1

    with pytest.raises(AuditChainBrokenError, match="row 1"):
        AuditTrailService(log, FixedClock()).verify()


def test_adopting_a_legacy_trail_signs_it_and_records_who_adopted_it():
    log = InMemoryAuditLog([_event("model.registered", "model:m/1"), _event("model.promoted", "model:m/1")])

    adopted = AuditTrailService(log, FixedClock()).adopt_legacy(actor="alice")

    assert adopted == 2 and log.legacy_rows == 2
    assert log.recorded[-1] == AuditEvent(NOW, "alice", LEGACY_ADOPTED_ACTION, "audit:trail", {"rows_adopted": "2"})

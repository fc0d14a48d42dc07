from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tripcast.core.domain.audit import AuditEvent
from tripcast.security.audit_log import AuditChainBrokenError, SqlAuditLog


def event(n: int, subject: str = "model:m/1") -> AuditEvent:
    return AuditEvent(datetime(2026, 1, 1, 12, n, tzinfo=UTC), "alice", "model.promoted", subject, {"n": str(n)})


@pytest.fixture()
def log(tmp_path):
    return SqlAuditLog(f"sqlite:///{tmp_path / 'audit.db'}")


def test_events_come_back_newest_first_and_filtered(log):
    for n in range(3):
        log.record(event(n, subject=f"model:m/{n}" if n else "dataset:x"))
    events = log.events()
    assert [e.details["n"] for e in events] == ["2", "1", "0"]
    assert events[0].at == datetime(2026, 1, 1, 12, 2, tzinfo=UTC)
    assert [e.subject for e in log.events("dataset:")] == ["dataset:x"]
    assert log.verify() == 3


def test_database_refuses_updates_and_deletes(log):
    log.record(event(1))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_events SET actor = 'mallory'"))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))


def test_tampering_behind_the_triggers_is_detected(log):
    log.record(event(1))
    log.record(event(2))
    with log.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = 1"))
    with pytest.raises(AuditChainBrokenError, match="row 1"):
        log.verify()

import hashlib
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tripcast.core.domain.audit import AuditEvent
from tripcast.security.audit_log import (
    AuditChainBrokenError,
    LegacyAuditTrailError,
    SqlAuditLog,
)

KEY = b"unit-test-audit-key-0123456789"


def event(n: int, subject: str = "model:m/1") -> AuditEvent:
    return AuditEvent(datetime(2026, 1, 1, 12, n, tzinfo=UTC), "alice", "model.promoted", subject, {"n": str(n)})


@pytest.fixture()
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture()
def log(url):
    return SqlAuditLog(url, key=KEY)


def tamper(log: SqlAuditLog, *statements: str) -> None:
    """What someone with write access to the database file can do: drop the guards and edit rows."""
    with log.engine.begin() as conn:
        for trigger in ("audit_no_update", "audit_no_delete", "audit_head_no_delete"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            conn.execute(text(statement))


def test_events_come_back_newest_first_and_filtered(log):
    for n in range(3):
        log.record(event(n, subject=f"model:m/{n}" if n else "dataset:x"))
    events = log.events()
    assert [e.details["n"] for e in events] == ["2", "1", "0"]
    assert events[0].at == datetime(2026, 1, 1, 12, 2, tzinfo=UTC)
    assert [e.subject for e in log.events("dataset:")] == ["dataset:x"]
    assert [e.details["n"] for e in log.events(actions={"model.promoted"}, limit=2)] == ["2", "1"]
    assert log.events(actions={"model.registered"}) == []
    verified = log.verify()
    assert (verified.events, verified.legacy_events, verified.last_id) == (3, 0, 3)


def test_database_refuses_updates_and_deletes(log):
    log.record(event(1))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_events SET actor = 'mallory'"))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="cannot be deleted"):
        conn.execute(text("DELETE FROM audit_head"))


def test_tampering_behind_the_triggers_is_detected(log):
    log.record(event(1))
    log.record(event(2))
    tamper(log, "UPDATE audit_events SET actor = 'mallory' WHERE id = 1")
    with pytest.raises(AuditChainBrokenError, match=r"row 1 \(model.promoted model:m/1\) does not match its HMAC"):
        log.verify()


def test_rehashing_the_chain_without_the_key_is_detected(log):
    """The old unkeyed chain let a database writer edit a row and recompute every hash after it."""
    for n in range(3):
        log.record(event(n))
    previous = "0" * 64
    with log.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, at, actor, action, subject, details FROM audit_events ORDER BY id")).all()
    forged = []
    for row in rows:
        body = json.dumps([row.at, "mallory", row.action, row.subject, json.loads(row.details)], sort_keys=True)
        previous = hashlib.sha256(previous.encode() + body.encode()).hexdigest()
        forged.append(f"UPDATE audit_events SET actor = 'mallory', chain_hash = '{previous}' WHERE id = {row.id}")
    tamper(log, *forged, f"UPDATE audit_head SET chain_hash = '{previous}'")
    with pytest.raises(AuditChainBrokenError):
        log.verify()


def test_removing_the_newest_rows_is_detected(log):
    for n in range(4):
        log.record(event(n))
    tamper(log, "DELETE FROM audit_events WHERE id >= 3")
    with pytest.raises(AuditChainBrokenError, match=r"ends at row 2 .* records row 4: rows 3..4 were removed"):
        log.verify()


def test_removing_a_middle_row_is_detected(log):
    for n in range(4):
        log.record(event(n))
    tamper(log, "DELETE FROM audit_events WHERE id = 2")
    with pytest.raises(AuditChainBrokenError, match=r"rows 2..2 are missing"):
        log.verify()


def test_an_edited_head_is_detected(log):
    for n in range(3):
        log.record(event(n))
    tamper(log, "DELETE FROM audit_events WHERE id = 3", "UPDATE audit_head SET last_id = 2")
    with pytest.raises(AuditChainBrokenError, match=r"audit head .* does not match its signature"):
        log.verify()


def test_a_different_key_is_named_not_mistaken_for_tampering(url, log):
    log.record(event(1))
    other = SqlAuditLog(url, key=b"another-key-entirely-0123456789")
    with pytest.raises(AuditChainBrokenError, match=r"signed with key id .* TRIPCAST_AUDIT_KEY has key id"):
        other.verify()
    with pytest.raises(AuditChainBrokenError, match="key id"):
        other.record(event(2))
    assert log.verify().events == 1


def test_opening_a_trail_does_not_wait_for_another_process_holding_the_write_lock(url, log):
    log.record(event(1))
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process inside an append (or frozen in one)
    try:
        # The schema is in place, so opening it takes no write lock (it waited 60 s for one, then failed).
        reopened = SqlAuditLog(url, key=KEY)
        assert [e.details for e in reopened.events()] == [{"n": "1"}]  # WAL: readers never wait for the writer
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_an_empty_key_is_refused(url):
    with pytest.raises(ValueError, match="non-empty"):
        SqlAuditLog(url, key=b"")


def write_legacy_trail(path, n: int, *, corrupt_row: int | None = None) -> None:
    """A trail exactly as Tripcast wrote it before the chain was keyed (plain SHA-256, no head)."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at VARCHAR(40) NOT NULL, actor VARCHAR(200) NOT NULL, "
        "action VARCHAR(100) NOT NULL, subject VARCHAR(500) NOT NULL, details TEXT NOT NULL, "
        "chain_hash VARCHAR(64) NOT NULL)"
    )
    previous = "0" * 64
    for i in range(n):
        e = event(i)
        body = json.dumps([e.at.isoformat(), e.actor, e.action, e.subject, e.details], sort_keys=True)
        previous = hashlib.sha256(previous.encode() + body.encode()).hexdigest()
        actor = "mallory" if corrupt_row == i + 1 else e.actor
        db.execute(
            "INSERT INTO audit_events (at, actor, action, subject, details, chain_hash) VALUES (?, ?, ?, ?, ?, ?)",
            (e.at.isoformat(), actor, e.action, e.subject, json.dumps(e.details, sort_keys=True), previous),
        )
    db.commit()
    db.close()


def test_a_legacy_trail_is_refused_until_adopted_then_kept_as_a_legacy_segment(tmp_path):
    path = tmp_path / "old.db"
    write_legacy_trail(path, 3)
    log = SqlAuditLog(f"sqlite:///{path}", key=KEY)
    with pytest.raises(LegacyAuditTrailError, match=r"3 rows in the unkeyed format .* --adopt-legacy"):
        log.verify()
    with pytest.raises(LegacyAuditTrailError):
        log.record(event(9))
    assert len(log.events()) == 3  # still readable
    assert log.adopt_legacy() == 3
    log.record(event(9))
    verified = log.verify()
    assert (verified.events, verified.legacy_events, verified.last_id) == (4, 3, 4)
    tamper(log, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    with pytest.raises(AuditChainBrokenError, match=r"row 2 .* legacy hash"):
        log.verify()


def test_a_broken_legacy_trail_is_not_adopted(tmp_path):
    path = tmp_path / "old.db"
    write_legacy_trail(path, 3, corrupt_row=2)
    log = SqlAuditLog(f"sqlite:///{path}", key=KEY)
    with pytest.raises(AuditChainBrokenError, match=r"row 2 .* legacy hash"):
        log.adopt_legacy()
    with pytest.raises(LegacyAuditTrailError):
        log.verify()


def test_the_audit_trail_service_adopts_a_legacy_trail_and_the_adoption_is_the_first_keyed_row(tmp_path):
    """The core service over the real adapter: the adoption event is chained under the key and verifies."""
    from tripcast.core.ports.clock import Clock
    from tripcast.core.services.audit import LEGACY_ADOPTED_ACTION, AuditTrailService

    class Fixed(Clock):
        def now(self) -> datetime:
            return datetime(2026, 2, 1, tzinfo=UTC)

    path = tmp_path / "old.db"
    write_legacy_trail(path, 3)
    service = AuditTrailService(SqlAuditLog(f"sqlite:///{path}", key=KEY), Fixed())

    assert service.adopt_legacy(actor="alice") == 3
    newest = service.recent(limit=1)[0]
    assert (newest.action, newest.actor, newest.details) == (LEGACY_ADOPTED_ACTION, "alice", {"rows_adopted": "3"})
    verified = service.verify()
    assert (verified.events, verified.legacy_events, verified.last_id) == (4, 3, 4)

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tripcast.core.domain.audit import AuditEvent
from tripcast.security.audit_log import AuditChainBrokenError, SqlAuditLog

KEY = b"integration-audit-key-0123456789"


def test_audit_trail_on_postgresql_is_append_only_and_chained(postgres_url):
    log = SqlAuditLog(postgres_url, key=KEY)
    for n in range(5):
        log.record(AuditEvent(datetime(2026, 1, 1, n, tzinfo=UTC), "ci", "dataset.validated", f"dataset:{n}", {}))
    assert log.verify().events == 5
    assert log.events(limit=2)[0].subject == "dataset:4"
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_head"))
    # Reopening the same database keeps the guards and the chain.
    again = SqlAuditLog(postgres_url, key=KEY)
    again.record(AuditEvent(datetime(2026, 1, 2, tzinfo=UTC), "ci", "model.registered", "model:m/1", {"k": "v"}))
    assert again.verify().events == 6
    # Removing the newest row behind the triggers' back is caught by the signed head.
    with log.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_append_only"))
        conn.execute(text("DELETE FROM audit_events WHERE id = 6"))
    with pytest.raises(AuditChainBrokenError, match=r"rows 6\.\.6 were removed"):
        again.verify()
    log.engine.dispose()
    again.engine.dispose()

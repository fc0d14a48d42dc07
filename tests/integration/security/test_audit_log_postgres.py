from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tripcast.core.domain.audit import AuditEvent
from tripcast.security.audit_log import SqlAuditLog


def test_audit_trail_on_postgresql_is_append_only_and_chained(postgres_url):
    log = SqlAuditLog(postgres_url)
    for n in range(5):
        log.record(AuditEvent(datetime(2026, 1, 1, n, tzinfo=UTC), "ci", "dataset.validated", f"dataset:{n}", {}))
    assert log.verify() == 5
    assert log.events(limit=2)[0].subject == "dataset:4"
    with log.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))
    # Reopening the same database keeps the guards and the chain.
    again = SqlAuditLog(postgres_url)
    again.record(AuditEvent(datetime(2026, 1, 2, tzinfo=UTC), "ci", "model.registered", "model:m/1", {"k": "v"}))
    assert again.verify() == 6
    log.engine.dispose()
    again.engine.dispose()

"""An append-only, hash-chained audit trail in any SQL database (SQLite by default, PostgreSQL by URL).

Append-only is enforced by the database itself (triggers reject UPDATE and DELETE),
and each row carries the SHA-256 of the previous row's hash plus its own content,
so :meth:`SqlAuditLog.verify` detects rows edited or removed behind the triggers' back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event, select, text
from sqlalchemy.engine import Engine

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.ports.audit import AuditLog

_metadata = MetaData()
audit_events = Table(
    "audit_events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),  # ISO 8601 text: identical bytes in every dialect
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("subject", String(500), nullable=False, index=True),
    Column("details", Text, nullable=False),
    Column("chain_hash", String(64), nullable=False),
)

_GENESIS = "0" * 64

_GUARDS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_append_only ON audit_events",
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    ],
}


class AuditChainBrokenError(RuntimeError):
    """A stored row no longer matches its hash: the trail was tampered with."""


def _digest(previous: str, event: AuditEvent) -> str:
    body = json.dumps(
        [event.at.isoformat(), event.actor, event.action, event.subject, event.details], sort_keys=True
    ).encode()
    return hashlib.sha256(previous.encode() + body).hexdigest()


class SqlAuditLog(AuditLog):
    """Audit trail in the database at ``url`` (created on first use)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout = 5000"))
        _metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            for statement in _GUARDS.get(self.engine.dialect.name, []):
                conn.execute(text(statement))

    def record(self, event: AuditEvent) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Serialise writers so that the hash chain stays linear.
                conn.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
            last = conn.execute(select(audit_events.c.chain_hash).order_by(audit_events.c.id.desc()).limit(1)).scalar()
            conn.execute(
                audit_events.insert().values(
                    at=event.at.isoformat(),
                    actor=event.actor,
                    action=event.action,
                    subject=event.subject,
                    details=json.dumps(event.details, sort_keys=True),
                    chain_hash=_digest(last or _GENESIS, event),
                )
            )

    def events(self, subject_prefix: str = "", limit: int = 100) -> list[AuditEvent]:
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if subject_prefix:
            query = query.where(audit_events.c.subject.startswith(subject_prefix))
        with self.engine.connect() as conn:
            return [_to_event(row) for row in conn.execute(query)]

    def verify(self) -> int:
        """Re-hash the whole chain; return the number of rows checked or raise AuditChainBrokenError."""
        previous = _GENESIS
        count = 0
        with self.engine.connect() as conn:
            for row in conn.execute(select(audit_events).order_by(audit_events.c.id)):
                expected = _digest(previous, _to_event(row))
                if row.chain_hash != expected:
                    raise AuditChainBrokenError(
                        f"audit row {row.id} ({row.action} {row.subject}) does not match its hash"
                    )
                previous = row.chain_hash
                count += 1
        return count


def _to_event(row: object) -> AuditEvent:
    return AuditEvent(
        at=datetime.fromisoformat(row.at),  # type: ignore[attr-defined]
        actor=row.actor,  # type: ignore[attr-defined]
        action=row.action,  # type: ignore[attr-defined]
        subject=row.subject,  # type: ignore[attr-defined]
        details=json.loads(row.details),  # type: ignore[attr-defined]
    )

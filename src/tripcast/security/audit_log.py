"""An append-only, HMAC-chained audit trail in any SQL database (SQLite by default, PostgreSQL by URL).

Three layers of protection:

* the database itself rejects UPDATE and DELETE on ``audit_events`` (triggers);
* each row carries HMAC-SHA256(key, previous hash + row id + content), with the key from settings
  (``TRIPCAST_AUDIT_KEY``): someone who can write the database but does not hold the key can
  neither edit a row nor re-hash the chain after an edit;
* a signed *head* (``audit_head``: last row id, its hash, HMAC over both) is moved in the same
  transaction as every append, so :meth:`SqlAuditLog.verify` also detects removed newest rows.

Appends are serialised so the chain stays linear: ``BEGIN IMMEDIATE`` on SQLite (the write lock is
taken before the last hash is read), ``LOCK TABLE`` on PostgreSQL. A process killed mid-append
leaves either the whole row and head or neither (one transaction).

Trails written before the chain was keyed (plain SHA-256, no head) are *legacy*: they are readable,
but verify and append refuse them until ``tripcast audit --adopt-legacy`` checks their chain and
signs a head that marks rows up to that point as a legacy segment. Adoption is explicit on purpose:
adopting automatically would let anyone who deletes the head have every row re-hashed unkeyed.
What no in-database check can detect is a wipe or a roll-back to an older complete copy of the
database; ``tripcast audit --verify`` prints the head so operators can record it elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from tripcast.core.domain.audit import AuditChainBrokenError, AuditEvent, VerifiedTrail
from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.audit import VerifiableAuditLog

# Defined in the core (callers catch and read them through the port); re-exported for existing imports.
__all__ = [
    "AuditChainBrokenError",
    "AuditUnavailableError",
    "AuditWriteError",
    "LegacyAuditTrailError",
    "SqlAuditLog",
    "VerifiedTrail",
]
from tripcast.security.urls import mask_url
from tripcast.sql_schema import sqlite_schema_in_place

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
#: One row (id 1): the newest event id and hash, signed; rows 1..legacy_until use the old unkeyed chain.
audit_head = Table(
    "audit_head",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("legacy_until", Integer, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(64), nullable=False),
)

_GENESIS = "0" * 64
#: SQLite writers wait this long for the write lock; four busy writers take a few ms each per append.
SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
#: Serialises schema creation between processes starting together on PostgreSQL (any fixed int64).
_PG_SCHEMA_LOCK = 7_301_146_102_118_001


def _pg_trigger_once(name: str, table: str, when: str) -> str:
    """A PostgreSQL statement creating trigger ``name`` on ``table`` unless it exists already."""
    return (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger "
        f"WHERE tgname = '{name}' AND tgrelid = '{table}'::regclass) THEN "
        f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION audit_append_only(); "
        "END IF; END $$"
    )


_GUARDS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql",
        # Created only when missing: DROP/CREATE TRIGGER takes an ACCESS EXCLUSIVE lock on the table, which
        # deadlocks with another process already reading or appending to the trail.
        _pg_trigger_once("audit_append_only", "audit_events", "BEFORE UPDATE OR DELETE ON audit_events"),
        _pg_trigger_once("audit_head_no_delete", "audit_head", "BEFORE DELETE ON audit_head"),
    ],
}


class LegacyAuditTrailError(TripcastError):
    """The trail predates the keyed chain and has not been adopted (``tripcast audit --adopt-legacy``)."""


class AuditWriteError(TripcastError):
    """An append failed (disk full, database unreachable); nothing was recorded."""


class AuditUnavailableError(TripcastError):
    """The audit database cannot be opened or read (unreachable server, unreadable file)."""


def _canonical(event: AuditEvent) -> bytes:
    return json.dumps(
        [event.at.isoformat(), event.actor, event.action, event.subject, event.details], sort_keys=True
    ).encode()


def _legacy_digest(previous: str, event: AuditEvent) -> str:
    """The chain of trails written before the key: plain SHA-256, which anyone can recompute."""
    return hashlib.sha256(previous.encode() + _canonical(event)).hexdigest()


class SqlAuditLog(VerifiableAuditLog):
    """Audit trail in the database at ``url`` (created on first use), chained with HMAC under ``key``."""

    def __init__(self, url: str, *, key: bytes) -> None:
        if not key:
            raise ValueError("the audit trail needs a non-empty HMAC key")
        self._key = key
        self.key_id = self._mac(b"tripcast-audit-key-id")[:16]
        self.location = mask_url(url)
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            _begin_sqlite_transactions_explicitly(self.engine)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # verify reads the head and then the rows: on PostgreSQL both must come from one snapshot, or an
        # append in between would look like a row the head does not cover (SQLite's WAL read transaction is one).
        self._snapshot = (
            self.engine.execution_options(isolation_level="REPEATABLE READ")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        with self._unavailable("opened"):
            self._create_schema()

    # ------------------------------------------------------------------ writing
    def record(self, event: AuditEvent) -> None:
        """Append one event and move the signed head, in one serialised transaction."""
        try:
            with self._write() as conn:
                head = self._checked_head(conn)
                if head is None:
                    raise self._legacy_error(conn)
                new_id = head.last_id + 1
                chain_hash = self._row_mac(head.chain_hash, new_id, event)
                conn.execute(audit_events.insert().values(id=new_id, chain_hash=chain_hash, **_columns(event)))
                self._move_head(conn, new_id, chain_hash, head.legacy_until)
        except DBAPIError as exc:
            raise AuditWriteError(
                f"audit trail append failed ({self.location}): {_first_line(exc.orig)}; nothing was recorded"
            ) from exc

    def adopt_legacy(self) -> int:
        """Check a legacy (unkeyed) trail's chain and sign a head over it; return the rows adopted."""
        with self._unavailable("adopted"), self._write() as conn:
            if conn.execute(select(audit_head.c.id)).first() is not None:
                raise TripcastError("the audit trail already has a signed head; nothing to adopt")
            previous, last_id = _GENESIS, 0
            for row in conn.execute(select(audit_events).order_by(audit_events.c.id)):
                if row.chain_hash != _legacy_digest(previous, _to_event(row)):
                    raise AuditChainBrokenError(
                        f"audit row {row.id} ({_short(row.action)} {_short(row.subject)}) does not match its "
                        "legacy hash: the old trail is broken; keep it as evidence and start a new trail"
                    )
                previous, last_id = row.chain_hash, row.id
            conn.execute(audit_head.insert().values(**self._head_values(last_id, previous, last_id)))
            return last_id

    # ------------------------------------------------------------------ reading
    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if subject_prefix:
            query = query.where(audit_events.c.subject.startswith(subject_prefix, autoescape=True))
        if actions is not None:
            query = query.where(audit_events.c.action.in_(list(actions)))
        with self._unavailable("read"), self.engine.connect() as conn:
            return [_to_event(row) for row in conn.execute(query)]

    def verify(self) -> VerifiedTrail:
        """Re-check every row's HMAC, the ids' continuity and the signed head, in one snapshot.

        Raises :class:`AuditChainBrokenError` naming the first row (or the head) that does not match,
        :class:`LegacyAuditTrailError` for a trail that was never adopted.
        """
        with self._unavailable("read"), self._snapshot.connect() as conn:
            head = self._checked_head(conn)
            if head is None:
                raise self._legacy_error(conn)
            previous, last_id, count, legacy = _GENESIS, 0, 0, 0
            for row in conn.execute(select(audit_events).order_by(audit_events.c.id)):
                previous = self._check_row(row, previous, last_id, head.legacy_until)
                last_id, count, legacy = row.id, count + 1, legacy + (row.id <= head.legacy_until)
        if last_id < head.last_id:
            raise AuditChainBrokenError(
                f"audit trail ends at row {last_id} but its signed head records row {head.last_id}: "
                f"rows {last_id + 1}..{head.last_id} were removed"
            )
        if last_id > head.last_id or previous != head.chain_hash:
            raise AuditChainBrokenError(
                f"audit row {head.last_id + 1 if last_id > head.last_id else last_id} is not covered by "
                "the signed head: rows were added or changed behind the audit log"
            )
        return VerifiedTrail(count, legacy, last_id, previous)

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _unavailable(self, action: str) -> Iterator[None]:
        """Database errors as one line naming the (masked) location; the driver's detail stays in the cause."""
        try:
            yield
        except DBAPIError as exc:
            raise AuditUnavailableError(
                f"the audit trail at {self.location} could not be {action}: {_first_line(exc.orig)}"
            ) from exc

    def _check_row(self, row: Any, previous: str, last_id: int, legacy_until: int) -> str:
        described = f"audit row {row.id} ({_short(row.action)} {_short(row.subject)})"
        if row.id <= legacy_until:
            if row.chain_hash != _legacy_digest(previous, _to_event(row)):
                raise AuditChainBrokenError(f"{described} does not match its legacy hash: edited")
            return str(row.chain_hash)
        if row.id != last_id + 1:
            raise AuditChainBrokenError(
                f"audit rows {last_id + 1}..{row.id - 1} are missing (row {row.id} follows row {last_id})"
            )
        if not hmac.compare_digest(row.chain_hash, self._row_mac(previous, row.id, _to_event(row))):
            raise AuditChainBrokenError(f"{described} does not match its HMAC: edited, reordered or forged")
        return str(row.chain_hash)

    def _checked_head(self, conn: Connection) -> Any:
        """The head row with a valid signature under our key, or None when the trail has no head yet."""
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
        if head is None:
            return None
        if head.key_id != self.key_id:
            raise AuditChainBrokenError(
                f"the audit trail was signed with key id {head.key_id}, but TRIPCAST_AUDIT_KEY has key id "
                f"{self.key_id}: set the key that wrote this trail"
            )
        expected = self._head_values(head.last_id, head.chain_hash, head.legacy_until)["signature"]
        if not hmac.compare_digest(head.signature, expected):
            raise AuditChainBrokenError(f"the audit head (row {head.last_id}) does not match its signature: edited")
        return head

    def _legacy_error(self, conn: Connection) -> LegacyAuditTrailError:
        rows = conn.execute(select(func.count()).select_from(audit_events)).scalar() or 0
        return LegacyAuditTrailError(
            f"the audit trail has {rows:,} rows in the unkeyed format of older versions and no signed head: "
            "check and adopt it with `tripcast audit --adopt-legacy`"
        )

    def _move_head(self, conn: Connection, last_id: int, chain_hash: str, legacy_until: int) -> None:
        values = self._head_values(last_id, chain_hash, legacy_until)
        conn.execute(audit_head.update().where(audit_head.c.id == 1).values(**values))

    def _head_values(self, last_id: int, chain_hash: str, legacy_until: int) -> dict[str, Any]:
        payload = json.dumps(["audit-head", last_id, chain_hash, legacy_until, self.key_id]).encode()
        return {
            "id": 1,
            "last_id": last_id,
            "chain_hash": chain_hash,
            "legacy_until": legacy_until,
            "key_id": self.key_id,
            "signature": self._mac(payload),
        }

    def _row_mac(self, previous: str, row_id: int, event: AuditEvent) -> str:
        return self._mac(previous.encode() + f"|{row_id}|".encode() + _canonical(event))

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the trail's write lock from its first statement."""
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
            yield conn

    def _create_schema(self) -> None:
        """Tables, guards and (for a new, empty trail) the head, once, whoever starts first (on SQLite,
        checked first without the write lock, which another process may hold for a while)."""
        if self._schema_in_place():
            return
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
            _metadata.create_all(conn)
            for statement in _GUARDS.get(conn.dialect.name, []):
                conn.execute(text(statement))
            has_head = conn.execute(select(audit_head.c.id)).first() is not None
            has_rows = conn.execute(select(audit_events.c.id).limit(1)).first() is not None
            if not has_head and not has_rows:
                conn.execute(audit_head.insert().values(**self._head_values(0, _GENESIS, 0)))

    def _schema_in_place(self) -> bool:
        if not sqlite_schema_in_place(self.engine, _metadata.tables, _GUARDS["sqlite"]):
            return False
        with self.engine.connect() as conn:
            return conn.execute(select(audit_head.c.id)).first() is not None


def _begin_sqlite_transactions_explicitly(engine: Engine) -> None:
    """SQLAlchemy's pysqlite recipe: the driver stops issuing its own BEGIN, we issue ours.

    Writers run ``BEGIN IMMEDIATE`` (execution option ``sqlite_begin``) so the write lock is held
    before the last hash is read; readers run a plain ``BEGIN`` and see one consistent snapshot.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        dbapi_connection.execute("PRAGMA synchronous=FULL")  # a committed append survives power loss

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _columns(event: AuditEvent) -> dict[str, str]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "details": json.dumps(event.details, sort_keys=True),
    }


def _short(text: str, limit: int = 60) -> str:
    """Keep error messages on one line: subjects may be 500 characters long."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "unknown error"


def _to_event(row: Any) -> AuditEvent:
    return AuditEvent(
        at=datetime.fromisoformat(row.at),
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=json.loads(row.details),
    )

"""The promotion ledger in the MLflow registry's own database (SQLite locally, PostgreSQL by URL).

MLflow keeps aliases in ``registered_model_aliases`` (workspace, name, alias -> version). This adapter
writes those rows itself, in the same transaction as the append-only ``tripcast_promotion_ledger``
rows, so an alias move and its history commit together or not at all (mlflow#2169, #3016):

* the transaction is serialised per database: ``BEGIN IMMEDIATE`` on SQLite (the write lock is taken
  before anything is read), a transaction-scoped advisory lock on PostgreSQL;
* under it, each move is a compare-and-set: the alias must still be at the version the mover read
  before deciding, or the move loses with :class:`StaleAliasError` and nothing is written;
* ledger ids are ``max(id) + 1`` under that lock, so the ledger has no gaps, and the database refuses
  UPDATE and DELETE on it (triggers), as on the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import NoSuchTableError

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.ledger import ANY_VERSION, AliasMove, LedgerEntry, LedgerNote, StaleAliasError
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.ledger import PromotionLedger
from tripcast.sql_schema import sqlite_schema_in_place

LEDGER_TABLE = "tripcast_promotion_ledger"
_metadata = MetaData()
ledger_rows = Table(
    LEDGER_TABLE,
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 text: identical in every dialect
    Column("actor", String(200), nullable=False),
    Column("model", String(256), nullable=False, index=True),
    Column("alias", String(256), nullable=False),
    Column("from_version", String(32), nullable=False),
    Column("to_version", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("gate_metrics", Text, nullable=False),
    Column("approver", String(200), nullable=False),
    Column("experiment_id", String(200), nullable=False),
)
#: Serialises ledger writers on PostgreSQL (any fixed int64, distinct from the audit trail's).
_PG_LEDGER_LOCK = 7_301_146_102_118_013
SQLITE_BUSY_TIMEOUT_SECONDS = 60.0

_GUARDS = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON {LEDGER_TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{LEDGER_TABLE} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON {LEDGER_TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{LEDGER_TABLE} is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION tripcast_ledger_append_only() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{LEDGER_TABLE} is append-only'; END; $$ LANGUAGE plpgsql",
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'ledger_append_only' "
        f"AND tgrelid = '{LEDGER_TABLE}'::regclass) THEN CREATE TRIGGER ledger_append_only "
        f"BEFORE UPDATE OR DELETE ON {LEDGER_TABLE} FOR EACH ROW EXECUTE FUNCTION tripcast_ledger_append_only(); "
        "END IF; END $$",
    ],
}


def keeps_a_ledger(tracking_uri: str) -> bool:
    """Whether the registry at ``tracking_uri`` is a SQL database the ledger can share (not an MLflow server)."""
    return tracking_uri.split("://", 1)[0].split("+", 1)[0] in ("sqlite", "postgresql", "mysql")


def sqlalchemy_url(tracking_uri: str) -> str:
    """The SQLAlchemy URL of an MLflow tracking URI (``postgresql://`` gets the installed psycopg 3 driver)."""
    if tracking_uri.startswith("postgresql://"):
        return "postgresql+psycopg://" + tracking_uri.removeprefix("postgresql://")
    return tracking_uri


class SqlPromotionLedger(PromotionLedger):
    """Alias moves and their ledger rows in the MLflow tracking database at ``tracking_uri``.

    The MLflow tables must exist (the root prepares the tracking store first); the ledger table and
    its append-only triggers are created on first use.
    """

    def __init__(self, tracking_uri: str, clock: Clock) -> None:
        self.clock = clock
        url = sqlalchemy_url(tracking_uri)
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            _begin_sqlite_transactions_explicitly(self.engine)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._create_schema()

    @cached_property
    def _aliases(self) -> Table:
        return self._mlflow_table("registered_model_aliases")

    @cached_property
    def _versions(self) -> Table:
        return self._mlflow_table("model_versions")

    def _mlflow_table(self, name: str) -> Table:
        """One of MLflow's registry tables, read from the database (its columns vary with MLflow's version)."""
        try:
            return Table(name, MetaData(), autoload_with=self.engine)
        except NoSuchTableError:
            raise NotFoundError(f"the registry database has no {name} table yet: run `tripcast train`") from None

    # ------------------------------------------------------------------ writing
    def move(self, model: str, moves: Sequence[AliasMove], note: LedgerNote) -> list[LedgerEntry]:
        """Apply every move and append its row in one serialised transaction (see the module docstring)."""
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LEDGER_LOCK})
            current = self._current_aliases(conn, model)
            for move in moves:
                found = current.get(move.alias, "")
                if move.expected_from != ANY_VERSION and found != move.expected_from:
                    raise StaleAliasError(model, move.alias, move.expected_from, found)
            next_id = int(conn.execute(select(func.coalesce(func.max(ledger_rows.c.id), 0))).scalar_one()) + 1
            at = self.clock.now().astimezone(UTC)
            written = []
            for offset, move in enumerate(moves):
                self._point_alias(conn, model, move.alias, move.to_version)
                entry = LedgerEntry(
                    next_id + offset, at, note.actor, model, move.alias, current.get(move.alias, ""),
                    move.to_version, note.reason, dict(note.gate_metrics), note.approver, note.experiment_id,
                )  # fmt: skip
                conn.execute(ledger_rows.insert().values(**_columns(entry)))
                current[move.alias] = move.to_version
                written.append(entry)
        return written

    # ------------------------------------------------------------------ reading
    def history(self, model: str | None = None, *, alias: str | None = None, limit: int = 100) -> list[LedgerEntry]:
        """The newest ``limit`` rows (oldest first), optionally of one model and alias."""
        query = select(ledger_rows).order_by(ledger_rows.c.id.desc()).limit(max(0, limit))
        if model is not None:
            query = query.where(ledger_rows.c.model == model)
        if alias is not None:
            query = query.where(ledger_rows.c.alias == alias)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_to_entry(row) for row in reversed(rows)]

    # ------------------------------------------------------------------ helpers
    def _current_aliases(self, conn: Connection, model: str) -> dict[str, str]:
        table = self._aliases
        rows = conn.execute(select(table.c.alias, table.c.version).where(table.c.name == model)).all()
        return {str(alias): str(version) for alias, version in rows}

    def _workspace_of(self, conn: Connection, model: str, version: str) -> str | None:
        """The version's workspace (MLflow 3 keys aliases by it; None on schemas without one); NotFoundError."""
        table = self._versions
        if not version.isdigit():
            raise NotFoundError(f"version {version!r} of {model} is not a version number")
        has_workspace = "workspace" in table.c
        column = table.c.workspace if has_workspace else table.c.version
        query = select(column).where(table.c.name == model, table.c.version == int(version))
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"version {version} of {model} is not registered; nothing was changed")
        return str(row[0]) if has_workspace else None

    def _point_alias(self, conn: Connection, model: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` ("" removes it); NotFoundError for a version not registered."""
        table = self._aliases
        workspace = self._workspace_of(conn, model, version) if version else None
        key = [table.c.name == model, table.c.alias == alias]
        if workspace is not None:
            key.append(table.c.workspace == workspace)
        conn.execute(table.delete().where(*key))
        if not version:
            return
        values: dict[str, Any] = {"name": model, "alias": alias, "version": int(version)}
        if workspace is not None:
            values["workspace"] = workspace
        conn.execute(table.insert().values(**values))

    def _create_schema(self) -> None:
        # On SQLite, checked first without the write lock: another process may hold it for a while.
        if sqlite_schema_in_place(self.engine, _metadata.tables, _GUARDS["sqlite"]):
            return
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LEDGER_LOCK})
            _metadata.create_all(conn)
            for statement in _GUARDS.get(conn.dialect.name, []):
                conn.execute(text(statement))


def _begin_sqlite_transactions_explicitly(engine: Engine) -> None:
    """Writers run ``BEGIN IMMEDIATE`` (the write lock before the current aliases are read); readers ``BEGIN``."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _columns(entry: LedgerEntry) -> dict[str, Any]:
    row = entry.as_dict()
    row["gate_metrics"] = json.dumps(entry.gate_metrics, sort_keys=True)
    return row


def _to_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        id=int(row.id),
        at=datetime.fromisoformat(row.at),
        actor=row.actor,
        model=row.model,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        reason=row.reason,
        gate_metrics={str(k): float(v) for k, v in json.loads(row.gate_metrics or "{}").items()},
        approver=row.approver,
        experiment_id=row.experiment_id,
    )

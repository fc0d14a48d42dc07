"""SQL stores whose tables are created on first use, not at construction.

An app (or a server) builds its stores while their database may still be down; the schema is created the
first time a store is used, once per process, under a lock so concurrent first requests do not race it.
Shared by the stores of independent layers (API keys, approvals, the prediction log), hence its neutral home.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, event, inspect, text
from sqlalchemy.engine import Engine

#: Seconds a PostgreSQL connection attempt may take before the store reports the database down.
CONNECT_TIMEOUT_SECONDS = 3


#: The trigger a SQLite guard statement creates: ``CREATE TRIGGER IF NOT EXISTS <name> ...``.
_TRIGGER_NAME = re.compile(r"CREATE TRIGGER IF NOT EXISTS (\w+)", re.IGNORECASE)


def sqlite_schema_in_place(engine: Engine, tables: Iterable[str], guards: Iterable[str]) -> bool:
    """Whether the SQLite database of ``engine`` already holds ``tables`` and the triggers ``guards`` create,
    read without the write lock: a process starting while another holds that lock (a long append, or one
    frozen mid-transaction) then does not wait for it only to find nothing to create. False for other
    databases (their creation path runs as before)."""
    if engine.dialect.name != "sqlite":
        return False
    triggers = {match.group(1) for guard in guards if (match := _TRIGGER_NAME.search(guard))}
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {str(row[0]) for row in rows}
    return set(tables) | triggers <= present


class LazySchema:
    """An engine for ``url`` (pre-pinged: a restarted database costs one failed ping, not a failed request)
    and ``metadata``'s tables, created by :meth:`ready` on first use (with a SQLite file's directory)."""

    def __init__(self, url: str, metadata: MetaData, *, on_sqlite_connect: Callable[..., Any] | None = None) -> None:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
        self.engine: Engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        if on_sqlite_connect is not None and self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", on_sqlite_connect)
        self.metadata = metadata
        self._created = False
        self._lock = threading.Lock()

    def ready(self) -> Engine:
        """The engine, once the tables exist."""
        if not self._created:
            with self._lock:
                if not self._created:
                    database = self.engine.url.database
                    if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
                        Path(database).parent.mkdir(parents=True, exist_ok=True)
                    self.metadata.create_all(self.engine)
                    self._created = True
        return self.engine


def widen_varchar(engine: Engine, table: str, column: str, length: int) -> None:
    """Widen ``table.column`` to ``varchar(length)`` on a PostgreSQL table created narrower by an older
    release (``create_all`` never alters an existing table). Widening a varchar is a catalogue change, no
    rewrite. SQLite does not enforce lengths: nothing to do."""
    if engine.dialect.name != "postgresql":
        return
    query = text(
        "SELECT character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = :table AND column_name = :column"
    )
    with engine.begin() as conn:
        current = conn.execute(query, {"table": table, "column": column}).scalar()
        if current is not None and current < length:
            conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar({int(length)})'))


def add_missing_columns(engine: Engine, table: Table) -> None:
    """Add ``table``'s nullable columns that an older release's table lacks (``create_all`` never alters)."""
    present = {column["name"] for column in inspect(engine).get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in present and c.nullable]
    if not missing:
        return
    with engine.begin() as conn:
        for column in missing:
            kind = column.type.compile(dialect=engine.dialect)
            conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))

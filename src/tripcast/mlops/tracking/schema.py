"""MLflow's tables are created once, even when several processes open a fresh SQLite store together.

MLflow creates its tables (an Alembic migration) the first time a process opens an empty database. Two
processes doing that at once (``tripcast serve --workers 2``, or two commands on a fresh data dir) both
see no tables, both migrate, and the second fails with an Alembic traceback. Opening the store once under
a file lock makes the first process migrate and every other one find the tables ready.

The store is switched to SQLite's WAL journal there too: readers then never wait for a writer, so a command
starting while another process is inside a long write (or frozen in one) reads the registry and reaches the
lock that refuses it, instead of waiting on the database and failing with "database is locked".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

#: Long enough for MLflow's full migration on a slow disk; a waiter is not refused, it waits.
SCHEMA_LOCK_TIMEOUT_SECONDS = 120.0


def prepare_tracking_store(tracking_uri: str, artifact_location: str, lock_dir: Path) -> None:
    """Open the SQLite tracking store under ``lock_dir/mlflow-schema.lock`` so its tables exist afterwards.

    Server databases are left to MLflow (their migrations are run by an operator with ``mlflow db upgrade``).
    """
    if not tracking_uri.startswith("sqlite:"):
        return
    from filelock import FileLock
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_dir / "mlflow-schema.lock"), timeout=SCHEMA_LOCK_TIMEOUT_SECONDS):
        SqlAlchemyStore(tracking_uri, artifact_location).engine.dispose()
        use_write_ahead_log(tracking_uri)


def use_write_ahead_log(sqlite_uri: str) -> None:
    """Put the SQLite database at ``sqlite_uri`` in WAL mode (persistent, so once per database); a no-op for
    an in-memory database or one already in WAL mode (checked first: switching needs the write lock)."""
    database = make_url(sqlite_uri).database
    if not database or database == ":memory:":
        return
    connection = sqlite3.connect(database, timeout=SCHEMA_LOCK_TIMEOUT_SECONDS)
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()

"""SQL stores whose tables are created on first use, not at construction.

An app (or a server) builds its stores while their database may still be down; the schema is created the
first time a store is used, once per process, under a lock so concurrent first requests do not race it.
Shared by the stores of independent layers (API keys, approvals, the prediction log), hence its neutral home.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine

#: Seconds a PostgreSQL connection attempt may take before the store reports the database down.
CONNECT_TIMEOUT_SECONDS = 3


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

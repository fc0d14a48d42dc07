"""A model registry that connects on first use, so a server starts while its registry database is down.

Building the MLflow client against a SQL tracking store connects at once, and MLflow retries a refused
connection for about 100 seconds before raising: a server wired that way never listens while the
database is down. :class:`DeferredRegistry` builds the real registry on the first call that finds the
database reachable (a cheap connection probe first, so an outage fails in milliseconds, not minutes)
and raises :class:`RegistryUnavailableError` until then; the model holder retries in the background.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracking import ModelRegistry

#: SQLAlchemy dialects whose server may be down; SQLite files and MLflow's HTTP server connect lazily.
_SERVER_DIALECTS = frozenset({"postgresql", "postgres", "mysql", "mariadb", "mssql"})


class RegistryUnavailableError(TripcastError):
    """The model registry cannot be reached right now (the cause is chained, for logs only)."""


def probe_tracking_store(tracking_uri: str, timeout_seconds: float = 3.0) -> None:
    """Open and close one connection to a SQL tracking store's server; raises when it is unreachable.

    A no-op for stores that are not database servers (``sqlite:``, ``file:``, ``http(s):``).
    """
    dialect = tracking_uri.split(":", 1)[0].split("+", 1)[0].lower()
    if dialect not in _SERVER_DIALECTS:
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    timeout = max(1, round(timeout_seconds))
    connect_args = {"connect_timeout": timeout} if dialect != "mssql" else {"timeout": timeout}
    engine = sqlalchemy.create_engine(tracking_uri, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


class _DropOutageTracebacks(logging.Filter):
    """Drops MLflow's per-call database error records (an ERROR with a full traceback for every failed
    query, a WARNING for every connection retry): the model holder logs the outage once, in one line."""

    PREFIXES = ("SQLAlchemy database error", "SQLAlchemy engine could not be created")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self.PREFIXES))


def quiet_registry_outage_logs() -> None:
    """Keep a server's log to one line per registry outage (idempotent)."""
    logger = logging.getLogger("mlflow.store.db.utils")
    if not any(isinstance(f, _DropOutageTracebacks) for f in logger.filters):
        logger.addFilter(_DropOutageTracebacks())


class DeferredRegistry(ModelRegistry):
    """Delegates to the registry ``build()`` returns, built on the first call after ``probe()`` succeeds.

    Until then every call raises :class:`RegistryUnavailableError`. Once built, failures are the
    registry's own (a database that drops later raises from the real adapter, and it reconnects itself).
    """

    def __init__(self, build: Callable[[], ModelRegistry], probe: Callable[[], None] | None = None) -> None:
        self._build = build
        self._probe = probe
        self._registry: ModelRegistry | None = None
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        """Whether the real registry has been built."""
        return self._registry is not None

    def _real(self) -> ModelRegistry:
        registry = self._registry
        if registry is not None:
            return registry
        with self._lock:
            if self._registry is None:
                try:
                    if self._probe is not None:
                        self._probe()
                    self._registry = self._build()
                except Exception as exc:
                    raise RegistryUnavailableError("model registry unreachable") from exc
            return self._registry

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        return self._real().register(model_uri, name, tags)

    def get(self, name: str, ref: str) -> ModelVersion:
        return self._real().get(name, ref)

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        return self._real().find_alias(name, alias)

    def alias_version(self, name: str, alias: str) -> str | None:
        return self._real().alias_version(name, alias)

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        self._real().set_alias(name, alias, version, tags)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self._real().list_versions(name)

    def load_predictor(self, name: str, ref: str) -> Predictor:
        return self._real().load_predictor(name, ref)

    def iter_names(self) -> Iterator[str]:
        return self._real().iter_names()

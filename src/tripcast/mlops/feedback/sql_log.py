"""The prediction log in SQL (SQLite locally, PostgreSQL by configuration), and its buffered writer.

The serving path only appends to an in-memory queue (:class:`BufferedPredictionLog`); a background thread
writes the queue in batches, each batch one transaction, so a process killed mid-flush leaves either the
whole batch or none of it (never a half-written row), and every row a returned ``flush()`` acknowledged
is committed (SQLite in WAL mode survives a killed process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tripcast.background_batches import BackgroundBatches
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import Actual, LabeledPrediction, LoggedPrediction
from tripcast.sql_schema import widen_varchar

log = logging.getLogger(__name__)

#: Room for a client's X-Request-Id (up to 128 characters) and a batch row's ".<index>" suffix.
REQUEST_ID_LENGTH = 200

metadata = sa.MetaData()
prediction_log = sa.Table(
    "prediction_log",
    metadata,
    sa.Column("request_id", sa.String(REQUEST_ID_LENGTH), primary_key=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("features_digest", sa.String(64), nullable=False),
    sa.Column("segment", sa.String(80), nullable=False),
    sa.Column("zone", sa.Integer, nullable=True),
    sa.Column("predicted_minutes", sa.Float, nullable=False),
    sa.Column("predicted_at", sa.DateTime, nullable=False),
    sa.Column("actual_minutes", sa.Float, nullable=True),
    sa.Column("actual_recorded_at", sa.DateTime, nullable=True),
    sa.Index("ix_prediction_log_version", "model_name", "model_version"),
)
_COLUMNS = (
    "request_id", "model_name", "model_version", "features_digest",
    "segment", "zone", "predicted_minutes", "predicted_at",
)  # fmt: skip
#: Bound parameters per IN query (SQLite allows 32766; PostgreSQL more).
_CHUNK = 5_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(
        "PRAGMA journal_mode=WAL"
    )  # readers never block the writer; a killed process loses nothing committed
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class SqlPredictionLogStore:
    """The durable log: one row per served prediction, its actual outcome filled in when it arrives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False

    def _ensure_table(self) -> None:
        """Create the table on first use, not at construction: a server starts while the database is down
        (its writer keeps rows queued and retries)."""
        if not self._ready:
            metadata.create_all(self.engine)
            widen_varchar(self.engine, "prediction_log", "request_id", REQUEST_ID_LENGTH)  # tables of older releases
            self._ready = True

    def write(self, predictions: Sequence[LoggedPrediction]) -> int:
        if not predictions:
            return 0
        self._ensure_table()
        rows = [_row(p) for p in predictions]
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(prediction_log)
        with self.engine.begin() as conn:  # the whole batch or none of it
            known = _known(conn, [r["request_id"] for r in rows])
            conn.execute(insert.on_conflict_do_nothing(index_elements=["request_id"]), rows)
        return len({r["request_id"] for r in rows} - known)

    def append(self, predictions: Sequence[LoggedPrediction]) -> None:
        """Insert in one transaction, skipping ids already there, without counting: the serving log's fast
        path (one driver-level executemany; SQLAlchemy's per-row statement building held the GIL ~4x longer)."""
        if not predictions:
            return
        self._ensure_table()
        sqlite_db = self.engine.dialect.name == "sqlite"
        mark = "?" if sqlite_db else "%s"
        columns = ", ".join(_COLUMNS)
        statement = (
            f"INSERT INTO prediction_log ({columns}) VALUES ({', '.join([mark] * len(_COLUMNS))}) "
            "ON CONFLICT (request_id) DO NOTHING"
        )
        rows = [
            (p.request_id, p.model_name, p.model_version, p.features_digest, p.segment, p.zone,
             float(p.predicted_minutes), _sqlite_time(p.predicted_at) if sqlite_db else _naive_utc(p.predicted_at))
            for p in predictions
        ]  # fmt: skip
        with self.engine.begin() as conn:
            conn.exec_driver_sql(statement, rows)

    def known_ids(self, request_ids: Sequence[str]) -> set[str]:
        self._ensure_table()
        with self.engine.connect() as conn:
            return _known(conn, request_ids)

    def record_actuals(self, actuals: Sequence[Actual], at: datetime) -> int:
        self._ensure_table()
        update = (
            prediction_log.update()
            .where(prediction_log.c.request_id == sa.bindparam("rid"))
            .values(actual_minutes=sa.bindparam("actual"), actual_recorded_at=sa.bindparam("at"))
        )
        params = [{"rid": a.request_id, "actual": float(a.actual_minutes), "at": _naive_utc(at)} for a in actuals]
        with self.engine.begin() as conn:  # all outcomes or none
            conn.execute(update, params)
        return len(params)

    def labeled(self, model_name: str, since: datetime | None = None) -> list[LabeledPrediction]:
        self._ensure_table()
        c = prediction_log.c
        query = sa.select(
            c.request_id, c.model_version, c.segment, c.predicted_minutes, c.actual_minutes, c.predicted_at
        ).where(c.model_name == model_name, c.actual_minutes.is_not(None))
        if since is not None:
            query = query.where(c.predicted_at >= _naive_utc(since))
        with self.engine.connect() as conn:
            return [LabeledPrediction(*row) for row in conn.execute(query)]

    def decay_tables(self, model_name: str, model_version: str, since: datetime | None = None) -> tuple[Any, Any]:
        self._ensure_table()
        import pandas as pd

        c = prediction_log.c
        query = (
            sa.select(c.request_id, c.predicted_minutes, c.predicted_at, c.actual_minutes)
            .where(c.model_name == model_name, c.model_version == model_version, c.actual_minutes.is_not(None))
            .order_by(c.predicted_at, c.request_id)
        )
        if since is not None:
            query = query.where(c.predicted_at >= _naive_utc(since))
        with self.engine.connect() as conn:
            frame = pd.DataFrame(
                conn.execute(query).all(), columns=["request_id", "prediction", "predicted_at", "actual"]
            )
        return frame[["request_id", "prediction", "predicted_at"]], frame[["request_id", "actual"]]

    def count(self) -> int:
        self._ensure_table()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(prediction_log)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def _known(conn: sa.Connection, request_ids: Sequence[str]) -> set[str]:
    ids = list(dict.fromkeys(request_ids))
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            conn.execute(sa.select(prediction_log.c.request_id).where(prediction_log.c.request_id.in_(chunk))).scalars()
        )
    return found


def _row(p: LoggedPrediction) -> dict[str, Any]:
    return {
        "request_id": p.request_id,
        "model_name": p.model_name,
        "model_version": p.model_version,
        "features_digest": p.features_digest,
        "segment": p.segment,
        "zone": p.zone,
        "predicted_minutes": float(p.predicted_minutes),
        "predicted_at": _naive_utc(p.predicted_at),
    }


def _sqlite_time(at: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (and compares lexically), without sqlite3's deprecated adapter."""
    return _naive_utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


#: (features digest, segment, zone) of each request: injected, so this module knows nothing about taxis.
Describe = Callable[[Sequence[TripRequest]], list[tuple[str, str, int | None]]]
_Pending = tuple[str, str, Sequence[str], Sequence[TripRequest], Sequence[float], float]


class BufferedPredictionLog:
    """Queues served predictions and writes them in batches from a background thread
    (:class:`~tripcast.background_batches.BackgroundBatches`).

    ``append`` costs a list append under a lock; describing the requests (digest, segment) and the SQL
    happen on the writer thread. At most ``max_pending`` rows wait: beyond that new rows are dropped and
    counted (``dropped``), so a database outage never grows the server's memory without bound.
    """

    def __init__(
        self,
        store: SqlPredictionLogStore,
        describe: Describe,
        *,
        flush_seconds: float = 0.5,
        max_pending: int = 200_000,
    ) -> None:
        self.store = store
        self.describe = describe
        self._batches: BackgroundBatches[_Pending] = BackgroundBatches(
            self._write, name="prediction-log", flush_seconds=flush_seconds, max_pending=max_pending
        )

    @property
    def dropped(self) -> int:
        """Rows dropped because the queue was full."""
        return self._batches.dropped

    def append(
        self,
        model_name: str,
        model_version: str,
        request_ids: Sequence[str],
        requests: Sequence[TripRequest],
        minutes: Sequence[float],
    ) -> None:
        item = (model_name, model_version, request_ids, requests, minutes, time.time())
        self._batches.add(item, rows=len(requests))

    def flush(self) -> int:
        """Write what is queued; the rows written (a failure re-queues them and raises)."""
        return self._batches.flush()

    def close(self) -> None:
        self._batches.close()

    def _write(self, batch: list[_Pending]) -> int:
        records = [record for item in batch for record in self._records(item)]
        self.store.append(records)
        return len(records)

    def _records(self, item: _Pending) -> list[LoggedPrediction]:
        name, version, ids, requests, minutes, served_at = item
        at = datetime.fromtimestamp(served_at, UTC)
        described = self.describe(requests)
        return [
            LoggedPrediction(rid, name, version, digest, segment, zone, float(m), at)
            for rid, (digest, segment, zone), m in zip(ids, described, minutes, strict=True)
        ]

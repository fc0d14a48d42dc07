"""Experiments and their exposures in SQL (SQLite under data/ by default, PostgreSQL by URL).

State changes are compare-and-set (``UPDATE ... WHERE state = :expected``): of two operators racing, one wins.
Exposures are queued by the serving path and written in batches by a background thread (like the prediction
log), each batch one transaction; ``close()`` (the server's shutdown) writes what is still queued.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tripcast.background_batches import BackgroundBatches
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.domain.experiment import (
    Experiment,
    ExperimentConflictError,
    ExperimentState,
    Exposure,
    Verdict,
)
from tripcast.core.ports.experiments import ExperimentStore, ExposureLog
from tripcast.core.ports.table import Table
from tripcast.mlops.ab_testing.definitions import definition_dict, parse_definition
from tripcast.sql_schema import add_missing_columns, widen_varchar

log = logging.getLogger(__name__)

metadata = sa.MetaData()
experiments_table = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.String(80), primary_key=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("verdict", sa.String(32), nullable=True),
    sa.Index("ix_experiments_model_state", "model_name", "state"),
)
exposures_table = sa.Table(
    "experiment_exposures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("experiment_id", sa.String(80), nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("unit_id", sa.String(200), nullable=False),
    sa.Column("request_id", sa.String(200), nullable=False),  # a client's X-Request-Id and a batch row suffix
    sa.Column("at", sa.Float, nullable=False),  # epoch seconds: compact, and ordered the same everywhere
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("answered", sa.Boolean, nullable=False),
    sa.Column("prediction", sa.Float, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),  # the guardrails' data
    sa.Column("error", sa.Boolean, nullable=True),
    sa.Index("ix_exposures_experiment", "experiment_id", "arm"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # the poller reads while the flusher writes
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sql_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the tables created (SQLite in WAL mode)."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    widen_varchar(engine, "experiment_exposures", "request_id", 200)  # tables of older releases
    add_missing_columns(engine, exposures_table)
    return engine


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlExperimentStore(ExperimentStore):
    """Experiment definitions (as JSON) and their states in one table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def save(self, experiment: Experiment) -> None:
        d = experiment.definition
        try:
            with self.engine.begin() as conn:
                conn.execute(experiments_table.insert().values(**self._row(experiment)))
        except sa.exc.IntegrityError:
            raise ExperimentConflictError(f"experiment {d.experiment_id!r} already exists") from None

    def get(self, experiment_id: str) -> Experiment:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(experiments_table).where(experiments_table.c.experiment_id == experiment_id)
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"no experiment {experiment_id!r}")
        return _experiment(row._mapping)

    def list(self, state: ExperimentState | None = None, model_name: str | None = None) -> list[Experiment]:
        c = experiments_table.c
        query = sa.select(experiments_table).order_by(c.created_at, c.experiment_id)
        if state is not None:
            query = query.where(c.state == state.value)
        if model_name is not None:
            query = query.where(c.model_name == model_name)
        with self.engine.connect() as conn:
            return [_experiment(row._mapping) for row in conn.execute(query)]

    def transition(self, updated: Experiment, expected: ExperimentState) -> Experiment:
        c = experiments_table.c
        experiment_id = updated.definition.experiment_id
        with self.engine.begin() as conn:
            done = conn.execute(
                experiments_table.update()
                .where(c.experiment_id == experiment_id, c.state == expected.value)
                .values(**self._row(updated))
            )
        if done.rowcount != 1:
            now = self.get(experiment_id)  # NotFoundError when it is gone
            raise ExperimentConflictError(
                f"experiment {experiment_id!r} is {now.state.value}, not {expected.value}: someone else changed it"
            )
        return updated

    @staticmethod
    def _row(experiment: Experiment) -> dict[str, Any]:
        d = experiment.definition
        return {
            "experiment_id": d.experiment_id,
            "model_name": d.model_name,
            "state": experiment.state.value,
            "definition": json.dumps(definition_dict(d)),
            "created_at": experiment.created_at,
            "started_at": experiment.started_at,
            "stopped_at": experiment.stopped_at,
            "decided_at": experiment.decided_at,
            "verdict": experiment.verdict.value if experiment.verdict is not None else None,
        }


def _experiment(row: Any) -> Experiment:
    return Experiment(
        definition=parse_definition(json.loads(row["definition"])),
        state=ExperimentState(row["state"]),
        created_at=_utc(row["created_at"]) or datetime.now(UTC),
        started_at=_utc(row["started_at"]),
        stopped_at=_utc(row["stopped_at"]),
        decided_at=_utc(row["decided_at"]),
        verdict=Verdict(row["verdict"]) if row["verdict"] else None,
    )


class SqlExposureLog(ExposureLog):
    """Exposures queued in memory and written in batches by a background thread (started on first record).

    At most ``max_pending`` rows wait: beyond that new exposures are dropped and counted (``dropped``), so a
    database outage never grows the server's memory without bound.
    """

    def __init__(self, engine: sa.Engine, *, flush_seconds: float = 0.5, max_pending: int = 500_000) -> None:
        self.engine = engine
        self._batches: BackgroundBatches[Exposure] = BackgroundBatches(
            self._write, name="exposure-log", flush_seconds=flush_seconds, max_pending=max_pending
        )

    @property
    def dropped(self) -> int:
        """Exposures dropped because the queue was full."""
        return self._batches.dropped

    def record(self, exposures: Sequence[Exposure]) -> None:
        for exposure in exposures:
            self._batches.add(exposure)

    def flush(self) -> int:
        return self._batches.flush()

    def _write(self, batch: list[Exposure]) -> int:
        rows = [
            (e.experiment_id, e.arm, e.unit_id, e.request_id, e.at.timestamp(), e.model_version, e.answered,
             e.prediction, e.latency_ms, e.error)
            for e in batch
        ]  # fmt: skip
        mark = "?" if self.engine.dialect.name == "sqlite" else "%s"
        statement = (
            "INSERT INTO experiment_exposures (experiment_id, arm, unit_id, request_id, at, model_version, "
            f"answered, prediction, latency_ms, error) VALUES ({', '.join([mark] * 10)})"
        )
        with self.engine.begin() as conn:  # the whole batch or none of it
            conn.exec_driver_sql(statement, rows)
        return len(rows)

    def count(self, experiment_id: str) -> dict[str, int]:
        c = exposures_table.c
        query = (
            sa.select(c.arm, sa.func.count()).where(c.experiment_id == experiment_id).group_by(c.arm).order_by(c.arm)
        )
        with self.engine.connect() as conn:
            return {str(arm): int(n) for arm, n in conn.execute(query)}

    def request_ids(self, experiment_id: str) -> list[str]:
        c = exposures_table.c
        query = sa.select(c.request_id).where(c.experiment_id == experiment_id, c.answered.is_(True)).distinct()
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def observations(self, experiment_id: str, outcomes: Table) -> Table:
        import pandas as pd

        c = exposures_table.c
        query = sa.select(c.arm, c.unit_id, c.request_id, c.at, c.answered, c.prediction).where(
            c.experiment_id == experiment_id
        )
        with self.engine.connect() as conn:
            exposures = pd.DataFrame(
                conn.execute(query).all(), columns=["arm", "unit_id", "request_id", "at", "answered", "prediction"]
            )
        frame = _joined(exposures, outcomes)
        if frame.empty:
            raise InvalidInputError(
                [FieldProblem("outcomes", f"experiment {experiment_id!r} has no exposure with an actual outcome yet")]
            )
        return frame

    def arm_measures(self, experiment_id: str, control_arm: str) -> dict[str, dict[str, float]]:
        import pandas as pd

        from tripcast.mlops.ab_testing.guardrails import arm_measures

        c = exposures_table.c
        query = sa.select(c.arm, c.prediction, c.latency_ms, c.error).where(c.experiment_id == experiment_id)
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(), columns=["arm", "prediction", "latency_ms", "error"])
        return arm_measures(frame, control_arm)

    def close(self) -> None:
        self._batches.close()


_OBSERVATIONS_SQL = """
SELECT e.arm, e.unit_id,
       avg(abs(coalesce(CASE WHEN e.answered THEN o.predicted ELSE e.prediction END, o.predicted) - o.actual))
           AS outcome,
       CAST(NULL AS DOUBLE) AS covariate,
       min(e."at") AS "at"
FROM exposures e JOIN outcomes o USING (request_id)
GROUP BY e.arm, e.unit_id
ORDER BY "at"
"""


def _joined(exposures: Any, outcomes: Any) -> Any:
    """One row per (arm, unit): the mean absolute error of its requests, ordered by first exposure (DuckDB)."""
    import duckdb

    connection = duckdb.connect()
    try:
        connection.register("exposures", exposures)
        connection.register("outcomes", outcomes)
        frame = connection.sql(_OBSERVATIONS_SQL).df()
    finally:
        connection.close()
    import pandas as pd

    frame["at"] = pd.to_datetime(frame["at"].astype("float64"), unit="s", utc=True)
    return frame

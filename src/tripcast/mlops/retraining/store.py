"""Retraining run records in a SQL database (the registry's: SQLite locally, PostgreSQL by configuration).

One row per (model, month): the stage reached and the run as JSON. A save is an upsert in one transaction,
so a process killed mid-run leaves the last stage it completed, which the next run resumes from.
"""

from __future__ import annotations

import json
from datetime import UTC

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine

from tripcast.core.domain.retraining import RetrainRun
from tripcast.core.ports.retraining import RunStateStore
from tripcast.sql_schema import LazySchema

_metadata = MetaData()
retrain_runs = Table(
    "tripcast_retrain_runs",
    _metadata,
    Column("model", String(256), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("record", Text, nullable=False),
)


class SqlRunStateStore(RunStateStore):
    """Run records in one table of the database at ``url`` (created on first use)."""

    def __init__(self, url: str) -> None:
        self.schema = LazySchema(url, _metadata)
        self.engine: Engine = self.schema.engine

    def _ready(self) -> Engine:
        return self.schema.ready()

    def get(self, model: str, month: str) -> RetrainRun | None:
        query = select(retrain_runs.c.record).where(retrain_runs.c.model == model, retrain_runs.c.month == month)
        with self._ready().connect() as conn:
            record = conn.execute(query).scalar_one_or_none()
        return RetrainRun.from_dict(json.loads(record)) if record is not None else None

    def save(self, run: RetrainRun) -> None:
        table = retrain_runs
        row = {
            "model": run.model,
            "month": run.month,
            "stage": run.stage.value,
            "updated_at": run.updated_at.astimezone(UTC) if run.updated_at.tzinfo else run.updated_at,
            "record": json.dumps(run.to_dict(), sort_keys=True),
        }
        # Delete + insert in one transaction: portable across SQLite and PostgreSQL, and atomic.
        with self._ready().begin() as conn:
            conn.execute(delete(table).where(table.c.model == run.model, table.c.month == run.month))
            conn.execute(insert(table).values(**row))

    def runs(self, model: str, limit: int = 50) -> list[RetrainRun]:
        query = (
            select(retrain_runs.c.record)
            .where(retrain_runs.c.model == model)
            .order_by(retrain_runs.c.month.desc())
            .limit(limit)
        )
        with self._ready().connect() as conn:
            return [RetrainRun.from_dict(json.loads(r)) for r in conn.execute(query).scalars()]

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

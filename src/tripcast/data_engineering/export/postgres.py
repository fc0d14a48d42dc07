"""Idempotent upsert of a DataFrame into PostgreSQL on its natural key (SQLAlchemy + psycopg).

``INSERT ... ON CONFLICT (key) DO UPDATE``: rerunning a month rewrites the same rows
instead of adding duplicates, and a corrected value replaces the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

_TYPES = {"i": sa.BigInteger, "u": sa.BigInteger, "f": sa.Float, "b": sa.Boolean, "M": sa.DateTime}


def _column_type(series: pd.Series) -> type[sa.types.TypeEngine]:
    return _TYPES.get(series.dtype.kind, sa.Text)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values, with every missing value as None."""
    clean = frame.astype(object).where(frame.notna(), None)
    records = clean.to_dict(orient="records")
    for row in records:
        for key, value in row.items():
            if isinstance(value, np.generic):
                row[key] = value.item()
            elif isinstance(value, pd.Timestamp):
                row[key] = value.to_pydatetime()
    return records


class PostgresExporter:
    """Creates tables on first use (primary key = natural key) and upserts batches into them."""

    def __init__(self, url: str, schema: str | None = None, batch_size: int = 5000) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.schema = schema
        self.batch_size = batch_size

    def table_for(self, name: str, frame: pd.DataFrame, key: Sequence[str]) -> sa.Table:
        """The table ``name`` shaped after ``frame``, created if it does not exist."""
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise ValueError(f"natural key columns {missing} are not in the frame for table {name}")
        metadata = sa.MetaData(schema=self.schema)
        columns = [
            sa.Column(col, _column_type(frame[col]), primary_key=col in key, nullable=col not in key)
            for col in frame.columns
        ]
        table = sa.Table(name, metadata, *columns)
        metadata.create_all(self.engine, checkfirst=True)
        return table

    def upsert(self, name: str, frame: pd.DataFrame, key: Sequence[str]) -> int:
        """Insert or update every row of ``frame`` in table ``name``; return the rows written."""
        frame = frame.drop_duplicates(subset=list(key), keep="last")
        table = self.table_for(name, frame, key)
        updatable = [c for c in frame.columns if c not in key]
        records = _records(frame)
        with self.engine.begin() as conn:
            for start in range(0, len(records), self.batch_size):
                statement = insert(table).values(records[start : start + self.batch_size])
                if updatable:
                    statement = statement.on_conflict_do_update(
                        index_elements=list(key), set_={c: statement.excluded[c] for c in updatable}
                    )
                else:
                    statement = statement.on_conflict_do_nothing(index_elements=list(key))
                conn.execute(statement)
        return len(records)

    def count(self, name: str) -> int:
        with self.engine.connect() as conn:
            table = sa.table(name, schema=self.schema)
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()

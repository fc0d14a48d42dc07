"""Idempotent upsert of a DataFrame into PostgreSQL on its natural key (SQLAlchemy + psycopg).

``INSERT ... ON CONFLICT (key) DO UPDATE``: rerunning a month rewrites the same rows
instead of adding duplicates, and a corrected value replaces the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

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
        """Insert or update every row of ``frame`` in table ``name``; return the rows written.

        Rows are streamed with ``COPY`` into a temporary staging table, then merged with one
        ``INSERT ... SELECT ... ON CONFLICT`` statement, all in one transaction: a failure
        leaves the table as it was, and a month of features loads in about a second.
        """
        frame = frame.drop_duplicates(subset=list(key), keep="last")
        self.table_for(name, frame, key)
        columns = list(frame.columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        target = f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'
        updatable = [c for c in columns if c not in key]
        conflict = ", ".join(f'"{k}"' for k in key)
        action = (
            "DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updatable) if updatable else "DO NOTHING"
        )
        staging = f"tripcast_stage_{name}"
        with self.engine.begin() as conn:
            conn.execute(sa.text(f'CREATE TEMP TABLE "{staging}" (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP'))
            driver = conn.connection.driver_connection
            assert driver is not None  # a live psycopg connection inside begin()
            cursor = driver.cursor()
            with cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
                for record in _records(frame):
                    copy.write_row([record[c] for c in columns])
            merge = (
                f'INSERT INTO {target} ({quoted}) SELECT {quoted} FROM "{staging}" ON CONFLICT ({conflict}) {action}'
            )
            conn.execute(sa.text(merge))
        return len(frame)

    def count(self, name: str) -> int:
        with self.engine.connect() as conn:
            table = sa.table(name, schema=self.schema)
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()

"""Trips from a relational database (PostgreSQL via SQLAlchemy + psycopg): by table or by query.

* :meth:`SqlTripSource.load` reads one month (``timestamp_column`` in ``[start, end)``) and
  implements :class:`~tripcast.core.ports.data.TripDataSource`.
* :meth:`SqlTripSource.load_incremental` reads only rows whose ``watermark_column`` is above the
  last watermark seen, in order, and advances a :class:`WatermarkStore` once the caller has
  handled the batch: at-least-once delivery that never skips a row.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset, TripDataSource
from tripcast.data_engineering.ingestion.records import frame_digest, records_to_trips

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _identifier(value: str, field: str) -> str:
    """A quoted SQL identifier; anything but ``name`` or ``schema.name`` is refused (no injection)."""
    if not _IDENTIFIER.match(value):
        raise InvalidInputError([FieldProblem(field, f"{value!r} is not a plain table/column name")])
    return ".".join(f'"{part}"' for part in value.split("."))


class WatermarkStore:
    """The last watermark per source name, in a small JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, name: str) -> Any:
        if not self.path.is_file():
            return None
        value = json.loads(self.path.read_text()).get(name)
        return pd.Timestamp(value["timestamp"]).to_pydatetime() if isinstance(value, dict) else value

    def set(self, name: str, value: Any) -> None:
        data = json.loads(self.path.read_text()) if self.path.is_file() else {}
        if hasattr(value, "isoformat"):  # datetimes and pandas Timestamps
            data[name] = {"timestamp": pd.Timestamp(value).isoformat()}
        else:
            data[name] = value.item() if hasattr(value, "item") else value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class IncrementalBatch:
    """Rows newer than the previous watermark; call :meth:`commit` after handling them."""

    trips: pd.DataFrame
    watermark: Any
    store: WatermarkStore
    name: str

    def commit(self) -> None:
        if len(self.trips):
            self.store.set(self.name, self.watermark)


class SqlTripSource(TripDataSource):
    """A table (``table="trips"``) or a query (``query="SELECT ..."``) of TLC-like rows."""

    def __init__(
        self,
        url: str,
        *,
        table: str | None = None,
        query: str | None = None,
        service: str = "green",
        timestamp_column: str = "pickup_datetime",
    ) -> None:
        if (table is None) == (query is None):
            raise InvalidInputError([FieldProblem("table", "give exactly one of a table name and a query")])
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.service = service
        self.relation = _identifier(table, "table") if table else f"({query}) AS source_query"
        self.label = table or "query"
        self.timestamp_column = _identifier(timestamp_column, "timestamp_column")

    def fetch(self, month: Month) -> str:
        """Where the month lives (nothing to download): ``<url>#<table or query>?month=YYYY-MM``."""
        return f"{self.engine.url.render_as_string(hide_password=True)}#{self.label}?month={month}"

    def load(self, month: Month) -> RawDataset:
        """Rows whose timestamp falls in the month, ordered by it, in the canonical schema."""
        sql = sa.text(
            f"SELECT * FROM {self.relation} WHERE {self.timestamp_column} >= :start "
            f"AND {self.timestamp_column} < :end ORDER BY {self.timestamp_column}"
        )
        frame = self._read(sql, {"start": month.start, "end": month.end})
        trips = _trips(frame, self.service)
        return RawDataset(trips, month, self.fetch(month), frame_digest(trips))

    def load_incremental(
        self, store: WatermarkStore, watermark_column: str, *, name: str | None = None, limit: int = 100_000
    ) -> IncrementalBatch:
        """Up to ``limit`` rows with ``watermark_column`` above the stored watermark, oldest first."""
        column = _identifier(watermark_column, "watermark_column")
        key = name or f"{self.label}:{watermark_column}"
        last = store.get(key)
        where = f"WHERE {column} > :last " if last is not None else ""
        sql = sa.text(f"SELECT * FROM {self.relation} {where}ORDER BY {column} LIMIT :limit")
        frame = self._read(sql, {"last": last, "limit": limit} if last is not None else {"limit": limit})
        watermark = frame[watermark_column].max() if len(frame) else last
        trips = _trips(frame, self.service)
        return IncrementalBatch(trips, watermark, store, key)

    def _read(self, sql: sa.TextClause, params: dict[str, Any]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sql, conn, params=params)

    def close(self) -> None:
        self.engine.dispose()


def _trips(frame: pd.DataFrame, service: str) -> pd.DataFrame:
    """Query rows (TLC or canonical column names) in the canonical schema."""
    records = [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return records_to_trips(records, service)

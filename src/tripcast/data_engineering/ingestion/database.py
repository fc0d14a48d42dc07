"""Trips from a relational database (PostgreSQL via SQLAlchemy + psycopg): by table or by query.

* :meth:`SqlTripSource.load` reads one month (``timestamp_column`` in ``[start, end)``) and
  implements :class:`~tripcast.core.ports.data.TripDataSource`.
* :meth:`SqlTripSource.load_incremental` reads only rows after the last watermark seen, in order,
  and advances a :class:`WatermarkStore` once the caller has handled the batch: at-least-once
  delivery that never skips a row, even when many rows share a watermark value (a timestamp)
  and a batch ends among them. With a ``key_column`` (unique) it pages by the keyset
  ``(watermark, key)``; without one it re-reads the rows at the last watermark value and drops
  those already delivered (remembered by content digest).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset, TripDataSource
from tripcast.data_engineering.ingestion.records import frame_digest
from tripcast.data_engineering.tlc.casting import conform

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _identifier(value: str, field: str) -> str:
    """A quoted SQL identifier; anything but ``name`` or ``schema.name`` is refused (no injection)."""
    if not _IDENTIFIER.match(value):
        raise InvalidInputError([FieldProblem(field, f"{value!r} is not a plain table/column name")])
    return ".".join(f'"{part}"' for part in value.split("."))


def _encode(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # datetimes and pandas Timestamps
        return {"timestamp": pd.Timestamp(value).isoformat()}
    return value.item() if hasattr(value, "item") else value


def _decode(value: Any) -> Any:
    return pd.Timestamp(value["timestamp"]).to_pydatetime() if isinstance(value, dict) else value


@dataclass(frozen=True)
class Watermark:
    """Where the last handled batch ended: the watermark value and the key of its last row, or the
    digests of the rows at that value already delivered (when there is no key column)."""

    value: Any
    key: Any = None
    seen: tuple[str, ...] = ()


class WatermarkStore:
    """The last watermark per source name, in a small JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, Any]:
        return dict(json.loads(self.path.read_text())) if self.path.is_file() else {}

    def get(self, name: str) -> Any:
        """The last watermark value of ``name`` (None before the first commit)."""
        position = self.position(name)
        return position.value if position is not None else None

    def position(self, name: str) -> Watermark | None:
        """The full position of ``name``; a file from before keysets holds a bare value."""
        stored = self._read().get(name)
        if stored is None:
            return None
        if isinstance(stored, dict) and "value" in stored:
            return Watermark(_decode(stored["value"]), _decode(stored.get("key")), tuple(stored.get("seen", ())))
        return Watermark(_decode(stored))

    def set(self, name: str, value: Any) -> None:
        """Record a bare watermark value (rows at this value count as not yet delivered)."""
        self.set_position(name, Watermark(value))

    def set_position(self, name: str, position: Watermark) -> None:
        data = self._read()
        data[name] = {"value": _encode(position.value), "key": _encode(position.key), "seen": list(position.seen)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class IncrementalBatch:
    """Rows after the previous watermark; call :meth:`commit` after handling them."""

    trips: pd.DataFrame
    watermark: Any
    store: WatermarkStore
    name: str
    position: Watermark | None = field(default=None, compare=False)

    def commit(self) -> None:
        if len(self.trips) and self.position is not None:
            self.store.set_position(self.name, self.position)


def _plain(value: Any) -> Any:
    """A row value in a form that does not depend on the column's dtype in one particular frame."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _row_digests(frame: pd.DataFrame) -> list[str]:
    rows = frame.to_dict(orient="records")
    return [
        hashlib.sha256(json.dumps({str(k): _plain(v) for k, v in row.items()}, default=str).encode()).hexdigest()
        for row in rows
    ]


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
        sql = self._month_query()
        frame = self._read(sql, {"start": month.start, "end": month.end})
        trips = _trips(frame, self.service)
        return RawDataset(trips, month, self.fetch(month), frame_digest(trips))

    def _month_query(self) -> sa.TextClause:
        return sa.text(
            f"SELECT * FROM {self.relation} WHERE {self.timestamp_column} >= :start "
            f"AND {self.timestamp_column} < :end ORDER BY {self.timestamp_column}"
        )

    def load_batches(self, month: Month, batch_size: int) -> Iterator[pd.DataFrame]:
        """The month's rows, ``batch_size`` at a time in the canonical schema, from a server-side cursor:
        memory holds one batch, whatever the month's size."""
        sql = self._month_query()
        with self.engine.connect() as conn:
            streaming = conn.execution_options(stream_results=True, max_row_buffer=batch_size)
            params = {"start": month.start, "end": month.end}
            for frame in pd.read_sql(sql, streaming, params=params, chunksize=batch_size):
                yield _trips(frame, self.service)

    def load_incremental(
        self,
        store: WatermarkStore,
        watermark_column: str,
        *,
        key_column: str | None = None,
        name: str | None = None,
        limit: int = 100_000,
    ) -> IncrementalBatch:
        """Up to ``limit`` rows after the stored position, oldest first; no row is ever skipped.

        Give ``key_column`` (a unique column, e.g. the primary key) whenever there is one: batches then
        page by ``(watermark_column, key_column)``. Without it, rows at the last watermark value are read
        again and the ones already delivered dropped, so a batch may exceed ``limit`` by those ties.
        """
        column = _identifier(watermark_column, "watermark_column")
        store_key = name or f"{self.label}:{watermark_column}"
        last = store.position(store_key)
        if key_column is not None:
            frame, position = self._keyset_batch(column, watermark_column, key_column, last, limit)
        else:
            frame, position = self._dedup_batch(column, watermark_column, last, limit)
        trips = _trips(frame, self.service)
        watermark = position.value if position is not None else None
        return IncrementalBatch(trips, watermark, store, store_key, position if len(frame) else None)

    def _keyset_batch(
        self, column: str, watermark_column: str, key_column: str, last: Watermark | None, limit: int
    ) -> tuple[pd.DataFrame, Watermark | None]:
        key = _identifier(key_column, "key_column")
        order = f"ORDER BY {column}, {key} LIMIT :limit"
        if last is None:
            where, params = "", {}
        elif last.key is None:  # a position stored before keysets: re-deliver the rows at that value
            where, params = f"WHERE {column} >= :value ", {"value": last.value}
        else:
            where = f"WHERE ({column} > :value OR ({column} = :value AND {key} > :key)) "
            params = {"value": last.value, "key": last.key}
        frame = self._read(sa.text(f"SELECT * FROM {self.relation} {where}{order}"), {**params, "limit": limit})
        if not len(frame):
            return frame, last
        tail = frame.iloc[-1]
        return frame, Watermark(tail[watermark_column], tail[key_column])

    def _dedup_batch(
        self, column: str, watermark_column: str, last: Watermark | None, limit: int
    ) -> tuple[pd.DataFrame, Watermark | None]:
        newer_sql = f"SELECT * FROM {self.relation} {{where}}ORDER BY {column} LIMIT :limit"
        if last is None:
            frame = self._read(sa.text(newer_sql.format(where="")), {"limit": limit})
            ties = frame.iloc[0:0]
        else:
            # Every row at the last value, whatever order the database returns ties in; drop those delivered.
            ties = self._read(sa.text(f"SELECT * FROM {self.relation} WHERE {column} = :value"), {"value": last.value})
            newer = self._read(
                sa.text(newer_sql.format(where=f"WHERE {column} > :value ")), {"value": last.value, "limit": limit}
            )
            remaining = Counter(last.seen)
            fresh = []
            for digest in _row_digests(ties):
                fresh.append(remaining[digest] <= 0)
                remaining[digest] -= 1
            parts = [part for part in (ties[fresh], newer) if len(part)]
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts[0] if parts else newer)
        if not len(frame):
            return frame, last
        top = frame[watermark_column].max()
        # Still at the last value: every row there (just read in full) has now been delivered.
        source = ties if last is not None and len(ties) and top == last.value else frame
        at_top = source[source[watermark_column] == top]
        return frame, Watermark(top, None, tuple(_row_digests(at_top)))

    def _read(self, sql: sa.TextClause, params: dict[str, Any]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sql, conn, params=params)

    def close(self) -> None:
        self.engine.dispose()


def _trips(frame: pd.DataFrame, service: str) -> pd.DataFrame:
    """Query rows (TLC or canonical column names) in the canonical schema, cast column by column (no per-row
    Python objects: a month of rows stays vectorised)."""
    return conform(frame.rename(columns=str), service=service)

"""The numbers the quality checks grade, computed by DuckDB over parquet files (or DataFrames).

A month of valid trips can hold tens of millions of rows: loading it into pandas to count nulls
took more memory than the rest of the pipeline together. DuckDB streams the files and keeps only
aggregates (the distinct-trip count spills to disk when it must), so the quality step runs in
bounded memory whatever the month's size. Small frames (tests, ``build_quality_report``) go
through the same queries, so there is one implementation of every statistic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from tripcast.data_engineering.quality.anomaly import DAILY_STATISTICS
from tripcast.data_engineering.tlc.schema import REASON_COLUMN


@dataclass(frozen=True)
class MonthStats:
    """Aggregates of one month of valid (and quarantined) trips."""

    n_valid: int
    n_quarantined: int
    null_rates: dict[str, float] = field(default_factory=dict)
    out_of_range: dict[str, float] = field(default_factory=dict)
    duplicate_share: float = 0.0
    unknown_ids: dict[str, float] = field(default_factory=dict)
    latest: datetime | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    daily: dict[str, pd.Series] = field(default_factory=dict)


Relation = Path | pd.DataFrame


def _source(con: duckdb.DuckDBPyConnection, name: str, data: Relation) -> str:
    if isinstance(data, pd.DataFrame):
        con.register(name, data)
        return name
    escaped = str(data).replace("'", "''")
    return f"read_parquet('{escaped}')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def month_stats(
    valid: Relation,
    quarantined: Relation,
    *,
    null_columns: Iterable[str],
    ranges: Iterable[tuple[str, float, float]],
    identity: Iterable[str],
    id_columns: Iterable[str],
    known_ids: Iterable[int],
    time_column: str,
) -> MonthStats:
    """Null shares, out-of-range shares, duplicate share, unknown-id shares, the latest time, reasons, daily series."""
    con = duckdb.connect()
    try:
        v, q = _source(con, "valid_rows", valid), _source(con, "quarantined_rows", quarantined)
        con.register("known_ids", pd.DataFrame({"id": sorted(set(known_ids))}))
        base = _base_stats(con, v, list(null_columns), list(ranges), list(id_columns), time_column)
        identity_cols = ", ".join(_q(c) for c in identity)
        distinct = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {identity_cols} FROM {v})").fetchone()
        n_valid = int(base["n"])
        reasons = _reasons(con, q)
        return MonthStats(
            n_valid=n_valid,
            n_quarantined=int(_one(con, f"SELECT count(*) FROM {q}")),
            null_rates={c: _share(base[f"null:{c}"], n_valid) for c in null_columns},
            out_of_range={c: _share(base[f"out:{c}"], base[f"present:{c}"]) for c, _, _ in ranges},
            duplicate_share=_share(n_valid - int(distinct[0] if distinct else 0), n_valid),
            unknown_ids={c: _share(base[f"unknown:{c}"], base[f"present:{c}"]) for c in id_columns},
            latest=base["latest"],
            reasons=reasons,
            daily=_daily(con, v, time_column) if n_valid else {},
        )
    finally:
        con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _share(part: Any, whole: Any) -> float:
    return float(part or 0) / float(whole) if whole else 0.0


def _base_stats(
    con: duckdb.DuckDBPyConnection,
    v: str,
    null_columns: list[str],
    ranges: list[tuple[str, float, float]],
    id_columns: list[str],
    time_column: str,
) -> dict[str, Any]:
    """One scan of the valid rows for every count the checks need."""
    parts = {"n": "count(*)", "latest": f"max({_q(time_column)})"}
    for column in null_columns:
        parts[f"null:{column}"] = f"count(*) - count({_q(column)})"
    for column, low, high in ranges:
        parts[f"present:{column}"] = f"count({_q(column)})"
        parts[f"out:{column}"] = f"count(*) FILTER ({_q(column)} < {low!r} OR {_q(column)} > {high!r})"
    for column in id_columns:
        parts[f"present:{column}"] = f"count({_q(column)})"
        parts[f"unknown:{column}"] = f"count(*) FILTER ({_q(column)} NOT IN (SELECT id FROM known_ids))"
    select = ", ".join(f"{sql} AS {_q(name)}" for name, sql in parts.items())
    row = con.execute(f"SELECT {select} FROM {v}").fetchone()
    return dict(zip(parts, row or (), strict=True))


def _reasons(con: duckdb.DuckDBPyConnection, q: str) -> dict[str, int]:
    """Quarantined rows per reason (a row with several reasons counts for each)."""
    rows = con.execute(
        f"SELECT reason, count(*) AS n FROM (SELECT unnest(string_split(CAST({_q(REASON_COLUMN)} AS VARCHAR), '; '))"
        f" AS reason FROM {q}) GROUP BY reason ORDER BY n DESC, reason"
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}


def _daily(con: duckdb.DuckDBPyConnection, v: str, time_column: str) -> dict[str, pd.Series]:
    """Daily volume and the per-column daily statistics of :data:`DAILY_STATISTICS`, by day of ``time_column``."""
    columns = set(con.execute(f"SELECT * FROM {v} LIMIT 0").fetchdf().columns)
    aggregations = {"daily_volume": "CAST(count(*) AS DOUBLE)"}
    for label, column, how in DAILY_STATISTICS:
        if column not in columns:
            continue
        col = _q(column)
        aggregations[label] = {
            "mean": f"avg({col})",
            "median": f"median({col})",
            "null_rate": f"avg(CASE WHEN {col} IS NULL THEN 1.0 ELSE 0.0 END)",
        }[how]
    select = ", ".join(f"{sql} AS {_q(label)}" for label, sql in aggregations.items())
    day = f"date_trunc('day', {_q(time_column)})"
    frame = con.execute(
        f"SELECT {day} AS day, {select} FROM {v} WHERE {_q(time_column)} IS NOT NULL GROUP BY day ORDER BY day"
    ).fetchdf()
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("day")))
    return {label: pd.Series(frame[label].to_numpy(dtype=float), index=index) for label in aggregations}

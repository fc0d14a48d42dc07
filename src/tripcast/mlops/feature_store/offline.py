"""Offline feature tables for Feast: zone-level aggregates as single parquet files.

The data pipeline writes the aggregates as hive partitions
(``<data>/features/zone_hour/service=green/month=YYYY-MM/*.parquet``, see
:mod:`tripcast.data_engineering.pipeline.layout`). Feast's file sources want one parquet
dataset with a tz-aware timestamp, so :func:`collect_pipeline_tables` consolidates them
with DuckDB. When the pipeline has not run, :func:`build_tables_from_trips` computes the
same aggregates from validated trips with the pipeline's own Ibis expressions.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pandas as pd

from tripcast.core.domain.errors import NotFoundError
from tripcast.data_engineering.tlc.schema import DURATION_COLUMN
from tripcast.data_engineering.transformation.aggregates import (
    FEATURE_TIMESTAMP,
    zone_hour_features,
    zone_pair_features,
)

ZONE_HOUR_TABLE = "zone_hour"
ZONE_PAIR_TABLE = "zone_pair"
TABLES = (ZONE_HOUR_TABLE, ZONE_PAIR_TABLE)


def table_path(offline_dir: Path, table: str) -> Path:
    return offline_dir / f"{table}.parquet"


def build_tables_from_trips(trips: pd.DataFrame, offline_dir: Path, *, pair_window_days: int = 7) -> dict[str, Path]:
    """Compute both aggregate tables from validated trips and write them under ``offline_dir``."""
    needed = ["pickup_zone", "dropoff_zone", "dropoff_datetime", "trip_distance", DURATION_COLUMN]
    missing = [c for c in needed if c not in trips.columns]
    if missing:
        raise NotFoundError(f"trips lack columns {missing} needed for zone aggregates")
    frame = trips[needed].copy()
    frame["pickup_zone"] = frame["pickup_zone"].astype("int64")
    frame["dropoff_zone"] = frame["dropoff_zone"].astype("int64")
    frame["dropoff_datetime"] = pd.to_datetime(frame["dropoff_datetime"]).astype("datetime64[us]")
    hours = frame[DURATION_COLUMN] / 60.0
    frame["avg_speed_mph"] = (frame["trip_distance"] / hours).where(hours > 0)
    con = ibis.duckdb.connect()
    try:
        table = ibis.memtable(frame)
        outputs = {
            ZONE_HOUR_TABLE: con.to_pandas(zone_hour_features(table)),
            ZONE_PAIR_TABLE: con.to_pandas(zone_pair_features(table, window_days=pair_window_days)),
        }
    finally:
        con.disconnect()
    return {name: _write(df, table_path(offline_dir, name)) for name, df in outputs.items()}


def collect_pipeline_tables(data_dir: Path, offline_dir: Path, service: str = "green") -> dict[str, Path]:
    """Consolidate the pipeline's partitioned aggregates into one parquet file per table."""
    paths: dict[str, Path] = {}
    for table in TABLES:
        source = data_dir / "features" / table / f"service={service}"
        files = sorted(source.glob("month=*/*.parquet"))
        if not files:
            raise NotFoundError(
                f"no pipeline output under {source}; run the data pipeline first "
                "(or build the tables from trips with build_tables_from_trips)"
            )
        with duckdb.connect() as con:
            df = con.execute(
                "SELECT * EXCLUDE (service, month) "
                "FROM read_parquet(?, hive_partitioning = true, union_by_name = true)",
                [[str(f) for f in files]],
            ).df()
        paths[table] = _write(df, table_path(offline_dir, table))
    return paths


def _write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df = df.copy()
    stamps = pd.to_datetime(df[FEATURE_TIMESTAMP])
    # Feast compares with tz-aware event timestamps; the pipeline's stamps are naive UTC wall-clock.
    df[FEATURE_TIMESTAMP] = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    df.to_parquet(path, index=False)
    return path

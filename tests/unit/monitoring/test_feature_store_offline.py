"""Offline tables: consolidation of the pipeline's hive partitions, and the Redis URL mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.mlops.feature_store.offline import collect_pipeline_tables
from tripcast.mlops.feature_store.store import _redis_connection_string


def write_partition(root: Path, table: str, month: str, frame: pd.DataFrame) -> None:
    folder = root / "features" / table / "service=green" / f"month={month}"
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-0.parquet", index=False)


def test_collects_pipeline_partitions_into_one_tz_aware_table(tmp_path: Path) -> None:
    for month, hour in (("2021-01", "2021-01-31 23:00"), ("2021-02", "2021-02-01 01:00")):
        stamp = pd.Timestamp(hour)
        write_partition(tmp_path, "zone_hour", month, pd.DataFrame({
            "pickup_zone": [1, 2], "feature_timestamp": [stamp, stamp], "zone_trips_1h": [3, 4],
            "zone_median_duration_1h": [10.0, 12.0], "zone_mean_speed_1h": [11.0, None]}))  # fmt: skip
        write_partition(tmp_path, "zone_pair", month, pd.DataFrame({
            "pickup_zone": [1], "dropoff_zone": [2], "feature_timestamp": [stamp.floor("D")],
            "pair_trips_7d": [5], "pair_median_duration_7d": [9.5]}))  # fmt: skip
    paths = collect_pipeline_tables(tmp_path, tmp_path / "offline")
    zone_hour = pd.read_parquet(paths["zone_hour"])
    assert len(zone_hour) == 4 and "month" not in zone_hour.columns and "service" not in zone_hour.columns
    assert str(zone_hour["feature_timestamp"].dt.tz) == "UTC"
    assert len(pd.read_parquet(paths["zone_pair"])) == 2


def test_missing_pipeline_output_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="run the data pipeline"):
        collect_pipeline_tables(tmp_path, tmp_path / "offline")


def test_redis_url_mapping() -> None:
    assert _redis_connection_string("redis://10.0.0.5:6380/2") == "10.0.0.5:6380,db=2"
    assert _redis_connection_string("redis://localhost") == "localhost:6379,db=0"
    with pytest.raises(InvalidInputError, match="online_url"):
        _redis_connection_string("memcached://x")

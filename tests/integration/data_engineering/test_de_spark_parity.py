"""The same Ibis pipeline on DuckDB and on PySpark (local mode) gives identical outputs on a real month.

One SparkSession (local[2], 2 shuffle partitions) serves the whole module: starting Spark is the slow part.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tripcast.core.domain.month import Month
from tripcast.data_engineering.transformation import open_engine, transform_trips
from tripcast.data_engineering.transformation.engine import spark_session

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow

JAN = Month(2021, 1)
SORT_KEYS = {
    "trips": ["pickup_datetime", "dropoff_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "total_amount"],
    "quarantine": [
        "pickup_datetime",
        "dropoff_datetime",
        "pickup_zone",
        "dropoff_zone",
        "trip_distance",
        "total_amount",
    ],
    "zone_hour": ["pickup_zone", "feature_timestamp"],
    "zone_pair": ["pickup_zone", "dropoff_zone", "feature_timestamp"],
}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]", shuffle_partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _run(engine_name: str, path, spark: Any) -> dict[str, pd.DataFrame]:
    with open_engine(engine_name, spark=spark) as engine:
        # The benchmark's configuration: each engine's own zone table (ENUM names on DuckDB) and no
        # final sort; the ordered plan holds the same rows (a unit test checks that on DuckDB).
        outputs = transform_trips(engine.read_parquet(path), JAN, zone_table=engine.zone_table(), ordered=False)
        frames = {}
        for name, expr in outputs.items():
            frame = expr.to_pandas()
            # Spark sorts nulls first, DuckDB last: compare in one explicit order.
            frames[name] = frame.sort_values(SORT_KEYS[name], kind="stable").reset_index(drop=True)
        return frames


def test_duckdb_and_spark_produce_identical_outputs(january_canonical, spark):
    duck = _run("duckdb", january_canonical, spark)
    sparky = _run("spark", january_canonical, spark)
    assert len(duck["trips"]) > 70_000
    for name in duck:
        assert list(duck[name].columns) == list(sparky[name].columns), name
        assert len(duck[name]) == len(sparky[name]), name
        pd.testing.assert_frame_equal(duck[name], sparky[name], check_dtype=False, check_exact=False, rtol=1e-9)


def test_spark_engine_writes_a_readable_partition(january_canonical, spark, tmp_path):
    with open_engine("spark", spark=spark) as engine:
        outputs = transform_trips(engine.read_parquet(january_canonical), JAN)
        target = engine.write_parquet(outputs.zone_hour, tmp_path / "zone_hour" / "month=2021-01")
    written = pd.read_parquet(target)
    assert len(written) > 30_000
    assert written.feature_timestamp.min() >= pd.Timestamp("2021-01-01")
    assert not (tmp_path / "zone_hour" / "month=2021-01.tmp").exists()


def test_spark_submit_entry_point_runs_the_pipeline(shared_data_dir, spark, tmp_path, monkeypatch, capsys):
    path = Path(__file__).resolve().parents[3] / "data_engineering" / "batch" / "spark" / "run_pipeline.py"
    spec = importlib.util.spec_from_file_location("tripcast_spark_entry", path)
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    assert entry.main(["--month", "2021-01", "--source", str(shared_data_dir)]) == 0
    printed = capsys.readouterr().out
    assert "transform" in printed and "export" in printed
    hourly = pd.read_parquet(tmp_path / "data/features/zone_hour/service=green/month=2021-01")
    assert len(hourly) == 33_300
    manifest = (tmp_path / "data/pipeline/green_2021-01.json").read_text()
    assert '"engine": "spark"' in manifest
    assert spark.sparkContext._jsc is not None  # the shared session was not stopped
    assert entry.main(["--month", "2021-13"]) == 1

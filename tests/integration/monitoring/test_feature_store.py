"""Feast zone features: point-in-time join without leakage, online reads (SQLite, Redis), metrics, CLI."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from support.zone_aggregates import T0, constructed_trips, leak_free
from tripcast.cli.monitoring import app
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore


@pytest.fixture()
def store(tmp_path: Path) -> tuple[ZoneFeatureStore, pd.DataFrame]:
    trips = constructed_trips(np.random.default_rng(11), n=600, days=4)
    build_tables_from_trips(trips, tmp_path / "offline")
    fs = ZoneFeatureStore(FeatureStoreSettings(tmp_path / "repo", tmp_path / "offline"))
    fs.apply()
    return fs, trips


def test_point_in_time_join_sees_only_trips_that_ended_before_the_event(
    store: tuple[ZoneFeatureStore, pd.DataFrame],
) -> None:
    fs, trips = store
    # Events are trips themselves (a trip at T asks for features at its pickup time), never on the hour.
    events = trips.sample(120, random_state=1).reset_index(drop=True)
    events["event_timestamp"] = (events["pickup_datetime"] + pd.Timedelta(seconds=17)).dt.tz_localize("UTC")
    # A trap: a trip in the same zone that ends one minute after an event, with an absurd duration.
    trap_event = events.iloc[0]
    trap = trips.iloc[:1].copy()
    trap[["pickup_zone", "dropoff_zone"]] = [trap_event.pickup_zone, trap_event.dropoff_zone]
    trap["dropoff_datetime"] = trap_event.event_timestamp.tz_localize(None) + pd.Timedelta(minutes=1)
    trap["duration_minutes"] = 999.0
    with_trap = pd.concat([trips, trap], ignore_index=True)
    build_tables_from_trips(with_trap, fs.settings.offline_dir)

    joined = fs.training_frame(events[["pickup_zone", "dropoff_zone", "event_timestamp"]])
    assert len(joined) == len(events)
    checked = 0
    for row in joined.itertuples(index=False):
        expected = leak_free(with_trap, row.pickup_zone, row.dropoff_zone, pd.Timestamp(row.event_timestamp))
        for name, value in expected.items():
            got = getattr(row, name)
            if np.isnan(value):
                assert pd.isna(got), (name, row)
            else:
                assert got == pytest.approx(value), (name, row)
                checked += 1
    assert checked > 100  # the comparison really exercised non-empty windows


def test_online_reads_sqlite_fast_path_matches_feast(store: tuple[ZoneFeatureStore, pd.DataFrame]) -> None:
    fs, _ = store
    fs.materialize(T0, T0 + timedelta(days=12))
    reader = fs.fast_reader()
    try:
        for zone, dropoff in [(1, 2), (2, 3), (3, 3), (250, 1)]:
            feast_row = fs.online([{"pickup_zone": zone, "dropoff_zone": dropoff}])
            fast = reader.get(zone, dropoff)
            for name, value in fast.items():
                theirs = feast_row[name][0]
                assert (value is None and theirs is None) or value == pytest.approx(theirs), (name, zone, dropoff)
        assert all(v is None for v in reader.get(250, 1).values())  # unknown zone: no row, no error
        assert reader.get(1, 2)["pair_trips_7d"] is not None
    finally:
        reader.close()

    registry = CollectorRegistry()
    fs.publish_metrics(registry, now=T0 + timedelta(days=4, hours=3))
    staleness = registry.get_sample_value(
        "tripcast_feature_store_staleness_seconds", {"feature_view": "zone_hour_stats"}
    )
    assert staleness is not None and 0 <= staleness <= 3 * 3600
    null_rate = registry.get_sample_value(
        "tripcast_feature_store_null_rate", {"feature_view": "zone_hour_stats", "feature": "zone_trips_1h"}
    )
    assert null_rate == 0.0


def test_redis_online_store_fast_path_matches_feast(tmp_path: Path, redis_url: str) -> None:
    trips = constructed_trips(np.random.default_rng(2), n=200, days=4)
    build_tables_from_trips(trips, tmp_path / "offline")
    project = f"tc_{uuid.uuid4().hex[:10]}"
    fs = ZoneFeatureStore(FeatureStoreSettings(tmp_path / "repo", tmp_path / "offline", redis_url, project))
    try:
        fs.materialize(T0, T0 + timedelta(days=12))
        feast_row = fs.online([{"pickup_zone": 1, "dropoff_zone": 2}])
        fast = fs.fast_reader().get(1, 2)
        assert fast["pair_trips_7d"] is not None
        for name, value in fast.items():
            theirs = feast_row[name][0]
            assert (value is None and theirs is None) or value == pytest.approx(theirs), name
        assert fs.freshness(T0 + timedelta(days=13))["zone_pair_stats"] == pytest.approx(86400)
    finally:
        fs.feast.teardown()


def test_cli_materialize_from_trip_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = constructed_trips(np.random.default_rng(4), n=100, days=4)
    trips_file = tmp_path / "trips.parquet"
    trips.to_parquet(trips_file)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        app,
        ["features", "materialize", "--trips", str(trips_file), "--start", "2021-03-10", "--end", "2021-03-25"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "feature_store" / "repo" / "online_store.db").exists()
    assert "zone_hour_stats" in result.output
    bad = CliRunner().invoke(app, ["features", "materialize", "--start", "2021-03-10", "--end", "nonsense"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_readme_materialize_command_works_from_the_repository_root(shared_data_dir: Path, tmp_path: Path) -> None:
    """`tripcast features materialize --start .. --end ..` exactly as typed, in the state `make demo` leaves.

    The process starts in a repository-like root with the default relative data dir (``data``) and
    no TRIPCAST_* variables; the validated month under data/processed is what the demo wrote.
    """
    import os
    import subprocess
    import sys

    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.store import ParquetDatasetStore
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    raw = read_tlc_file(shared_data_dir / "green_tripdata_2021-01.parquet").iloc[:4000]
    outcome = PanderaTripValidator().split(RawDataset(raw, Month(2021, 1), "green_tripdata_2021-01.parquet"))
    ParquetDatasetStore(tmp_path / "data" / "processed", tmp_path / "data" / "quarantine").save_processed(
        Month(2021, 1), outcome.valid
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    tripcast = str(Path(sys.executable).with_name("tripcast"))
    result = subprocess.run(
        [tripcast, "features", "materialize", "--start", "2021-01-01", "--end", "2021-02-01"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "zone_hour_stats" in result.stdout and "zone_pair_stats" in result.stdout
    repo = tmp_path / "data" / "feature_store" / "repo"
    assert (repo / "online_store.db").is_file() and (repo / "registry.db").is_file()
    assert not (repo / "data").exists()  # no path read twice against the repo folder

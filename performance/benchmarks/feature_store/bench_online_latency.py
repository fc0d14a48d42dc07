"""Online feature fetch latency: Feast get_online_features vs the direct fast path, per request.

Builds the zone tables from real 2021-01 green trips, materializes them into a fresh SQLite
online store (and Redis with ``--redis redis://127.0.0.1:6379/0``), then times single-request
reads for random (pickup, dropoff) pairs seen in the data. Not a test: run by hand and record
the numbers in performance/reports/feature_store_latency.md.

    .venv/bin/python performance/benchmarks/feature_store/bench_online_latency.py --requests 3000 [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore

DATA = Path(os.environ.get("TRIPCAST_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared/data/nyc-taxi"))


def percentiles(samples: list[float]) -> str:
    ms = np.asarray(samples) * 1000
    return f"p50 {np.percentile(ms, 50):.3f} ms  p95 {np.percentile(ms, 95):.3f} ms  p99 {np.percentile(ms, 99):.3f} ms"


def measure(store: ZoneFeatureStore, pairs: np.ndarray, label: str) -> None:
    reader = store.fast_reader()
    for zone, dropoff in pairs[:50]:  # warm-up: registry cache, connections, imports
        store.online([{"pickup_zone": int(zone), "dropoff_zone": int(dropoff)}])
        reader.get(int(zone), int(dropoff))
    feast_times, fast_times = [], []
    for zone, dropoff in pairs:
        t0 = time.perf_counter()
        store.online([{"pickup_zone": int(zone), "dropoff_zone": int(dropoff)}])
        feast_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        reader.get(int(zone), int(dropoff))
        fast_times.append(time.perf_counter() - t0)
    print(f"[{label}] Feast get_online_features: {percentiles(feast_times)}")
    print(f"[{label}] direct fast path:          {percentiles(fast_times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    path = DATA / "green_tripdata_2021-01.parquet"
    month = month_from_file_name(path)
    assert month is not None
    trips = PanderaTripValidator().split(RawDataset(read_tlc_file(path), month, str(path))).valid
    rng = np.random.default_rng(0)
    pairs = trips[["pickup_zone", "dropoff_zone"]].to_numpy(dtype=np.int64)[rng.integers(0, len(trips), args.requests)]
    with tempfile.TemporaryDirectory() as tmp:
        offline = Path(tmp) / "offline"
        build_tables_from_trips(trips, offline)
        start, end = datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 2, 9, tzinfo=UTC)
        sqlite_store = ZoneFeatureStore(FeatureStoreSettings(Path(tmp) / "sqlite", offline))
        sqlite_store.materialize(start, end)
        measure(sqlite_store, pairs, "sqlite")
        if args.redis:
            project = f"bench_{uuid.uuid4().hex[:8]}"
            redis_store = ZoneFeatureStore(FeatureStoreSettings(Path(tmp) / "redis", offline, args.redis, project))
            try:
                redis_store.materialize(start, end)
                measure(redis_store, pairs, "redis")
            finally:
                redis_store.feast.teardown()


if __name__ == "__main__":
    main()

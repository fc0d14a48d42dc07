"""Per-request cost the feature store adds to the serving path (StoreBackedTripFeatureBuilder).

Builds the offline tables from real green 2021-01 trips, materializes them into a fresh online store
(SQLite file by default, Redis with ``--redis``), then for ``--requests`` single-trip requests drawn
from real trips times, after a warm-up:

* ``spine``: ``TripFeatureBuilder.feature_matrix`` (what serving did before),
* ``store fetch``: ``StoreBackedTripFeatureBuilder.store_values`` (the online read + TTL rule),
* ``spine + store``: ``StoreBackedTripFeatureBuilder.feature_matrix`` (what serving does now).

Not a test (no timing assertions anywhere); run by hand, keep it under a few minutes:

    .venv/bin/python performance/benchmarks/feature_store/feature_fetch_p99.py --requests 3000
    .venv/bin/python performance/benchmarks/feature_store/feature_fetch_p99.py --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.store_features import StoreBackedTripFeatureBuilder
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRIPCAST_SHARED_DATA", REPO.parent / "shared" / "data" / "nyc-taxi"))


def timings_ms(call: Callable[[TripRequest], object], requests: list[TripRequest], warmup: int) -> np.ndarray:
    for request in requests[:warmup]:
        call(request)
    out = np.empty(len(requests))
    for i, request in enumerate(requests):
        started = time.perf_counter()
        call(request)
        out[i] = (time.perf_counter() - started) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--redis", default=None, help="redis://host:port/db for the Redis online store")
    args = parser.parse_args()

    path = DATA / "green_tripdata_2021-01.parquet"
    trips = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))).valid
    sample = trips.sample(args.requests, random_state=7)
    # Pickup times just after the store's last hour, so most requests get fresh (non-NaN) values.
    latest = pd.to_datetime(trips["dropoff_datetime"]).max().ceil("h")
    requests = [
        TripRequest(latest.to_pydatetime(), int(r.pickup_zone), int(r.dropoff_zone), float(r.trip_distance))
        for r in sample.itertuples(index=False)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        project = f"bench_{uuid.uuid4().hex[:8]}"
        settings = FeatureStoreSettings(Path(tmp) / "repo", Path(tmp) / "offline", args.redis, project)
        build_tables_from_trips(trips, settings.offline_dir)
        store = ZoneFeatureStore(settings)
        store.materialize(pd.Timestamp("2021-01-01").to_pydatetime(), (latest + pd.Timedelta(days=1)).to_pydatetime())
        spine = TripFeatureBuilder()
        builder = StoreBackedTripFeatureBuilder(settings, spine)
        try:
            values = builder.store_values(requests)
            print(f"online store: {'redis' if args.redis else 'sqlite'}; {len(requests):,} single-trip requests")
            print(f"non-NaN share of fetched store values: {np.isfinite(values).mean():.2f}")
            rows = {
                "spine feature_matrix": timings_ms(lambda r: spine.feature_matrix([r]), requests, args.warmup),
                "store fetch (store_values)": timings_ms(lambda r: builder.store_values([r]), requests, args.warmup),
                "spine + store feature_matrix": timings_ms(
                    lambda r: builder.feature_matrix([r]), requests, args.warmup
                ),
            }
            print(f"{'path':32s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}")
            for name, ms in rows.items():
                p50, p95, p99 = np.percentile(ms, [50, 95, 99])
                print(f"{name:32s} {p50:8.3f} {p95:8.3f} {p99:8.3f}")
        finally:
            builder.close()
            if args.redis:
                store.feast.teardown()


if __name__ == "__main__":
    main()

"""Does the feature store help? LightGBM with vs without the zone aggregates, validated on 2021-02.

Both models use the project's LightGBMTrainer with the same parameters; the second spec adds the
five store features, joined point-in-time by Feast (each trip sees only trips that ended before its
pickup). Offline tables come from 2021-01 + 2021-02 trips so February's features use the days
before each trip, exactly as they would be available online. Run by hand; results in
performance/reports/feature_store_rmse.md.

    .venv/bin/python performance/benchmarks/feature_store/compare_rmse.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.core.ports.data import RawDataset
from tripcast.core.ports.learning import TrainingSet
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.feature_store.definitions import ZONE_HOUR_FEATURES, ZONE_PAIR_FEATURES
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

DATA = Path(os.environ.get("TRIPCAST_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared/data/nyc-taxi"))
STORE_FEATURES = (*ZONE_HOUR_FEATURES, *ZONE_PAIR_FEATURES)
EXTENDED_SPEC = ModelSpec(
    name="trip-duration-store",
    features=(*TRIP_DURATION_SPEC.features, *(FeatureSpec(n, FeatureKind.NUMERIC) for n in STORE_FEATURES)),
    target=TRIP_DURATION_SPEC.target,
)


def valid_trips(month: str) -> pd.DataFrame:
    path = DATA / f"green_tripdata_{month}.parquet"
    parsed = month_from_file_name(path)
    assert parsed is not None
    return PanderaTripValidator().split(RawDataset(read_tlc_file(path), parsed, str(path))).valid


def with_store_features(store: ZoneFeatureStore, trips: pd.DataFrame, base: TrainingSet) -> TrainingSet:
    entities = pd.DataFrame(
        {
            "row_id": np.arange(len(trips)),
            "pickup_zone": trips["pickup_zone"].astype("int64").to_numpy(),
            "dropoff_zone": trips["dropoff_zone"].astype("int64").to_numpy(),
            "event_timestamp": trips["pickup_datetime"].to_numpy(),
        }
    )
    joined = store.training_frame(entities).sort_values("row_id").reset_index(drop=True)
    features = base.features.reset_index(drop=True).copy()
    for name in STORE_FEATURES:
        features[name] = pd.to_numeric(joined[name], errors="coerce").astype(np.float64).to_numpy()
    return TrainingSet(features=features, target=base.target, name=base.name + "+store", digest=base.digest + "+store")


def rmse(model: object, data: TrainingSet) -> float:
    predictions = model.predict(data.features)  # type: ignore[attr-defined]
    return float(np.sqrt(np.mean((predictions - np.asarray(data.target)) ** 2)))


def main() -> None:
    jan, feb = valid_trips("2021-01"), valid_trips("2021-02")
    builder = TripFeatureBuilder()
    train, valid = builder.training_set(jan, "2021-01"), builder.training_set(feb, "2021-02")
    t0 = time.perf_counter()
    spine = LightGBMTrainer(TRIP_DURATION_SPEC).fit(train, valid)
    print(
        f"spine model ({len(TRIP_DURATION_SPEC.features)} features): validation RMSE on 2021-02 = "
        f"{rmse(spine, valid):.4f} min  ({time.perf_counter() - t0:.0f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        build_tables_from_trips(pd.concat([jan, feb], ignore_index=True), Path(tmp) / "offline")
        store = ZoneFeatureStore(FeatureStoreSettings(Path(tmp) / "repo", Path(tmp) / "offline"))
        store.apply()
        t0 = time.perf_counter()
        train_x, valid_x = with_store_features(store, jan, train), with_store_features(store, feb, valid)
        print(f"point-in-time join of {len(jan) + len(feb):,} rows: {time.perf_counter() - t0:.1f} s")
    print("store feature null rates (train):", train_x.features[list(STORE_FEATURES)].isna().mean().round(3).to_dict())
    t0 = time.perf_counter()
    extended = LightGBMTrainer(EXTENDED_SPEC).fit(train_x, valid_x)
    print(
        f"spine + store ({len(EXTENDED_SPEC.features)} features): validation RMSE on 2021-02 = "
        f"{rmse(extended, valid_x):.4f} min  ({time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()

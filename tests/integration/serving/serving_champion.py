"""Train and register a real champion (LightGBM on green 2021-01) in a SQLite MLflow registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

MODEL_NAME = "trip-duration"


@dataclass(frozen=True)
class Champion:
    tracking_uri: str
    registry: MlflowModelRegistry
    features: TripFeatureBuilder
    version: str
    valid_february: pd.DataFrame


def processed(shared_data_dir: Path, month: str) -> pd.DataFrame:
    path = shared_data_dir / f"green_tripdata_{month}.parquet"
    raw = RawDataset(read_tlc_file(path, "green"), Month.parse(month), str(path))
    return PanderaTripValidator().split(raw).valid


def train_champion(shared_data_dir: Path, root: Path) -> Champion:
    """40 rounds on all of January's valid trips: small enough to compile in seconds, real enough to matter."""
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    features = TripFeatureBuilder()
    train = features.training_set(processed(shared_data_dir, "2021-01"), "2021-01")
    model = LightGBMTrainer(features.spec, num_boost_round=40).fit(train, train)
    tracker = MlflowTracker(tracking_uri, "serving-integration", (root / "artifacts").as_uri())
    with tracker.start_run("champion") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(tracking_uri, features)
    version = registry.register(uri, MODEL_NAME).version
    registry.set_alias(MODEL_NAME, "champion", version)
    return Champion(tracking_uri, registry, features, version, processed(shared_data_dir, "2021-02"))

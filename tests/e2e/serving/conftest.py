"""A real SQLite MLflow registry holding two small LightGBM versions trained on real January trips."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

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
class RegistryWithModels:
    tracking_uri: str
    data_dir: Path
    registry: MlflowModelRegistry
    versions: tuple[str, ...]


@pytest.fixture(scope="session")
def served_registry(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RegistryWithModels:
    """Versions 1 (20 rounds, champion) and 2 (60 rounds, registered only) of a real model."""
    data_dir = tmp_path_factory.mktemp("serving-e2e")
    tracking_uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    path = shared_data_dir / "green_tripdata_2021-01.parquet"
    trips = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))).valid
    features = TripFeatureBuilder()
    train = features.training_set(trips.head(6000), "2021-01-head")
    tracker = MlflowTracker(tracking_uri, "serving-e2e", (data_dir / "artifacts").as_uri())
    registry = MlflowModelRegistry(tracking_uri, features)
    versions = []
    for rounds in (20, 60):
        model = LightGBMTrainer(features.spec, {"num_threads": 1}, num_boost_round=rounds).fit(train, train)
        with tracker.start_run(f"e2e-{rounds}") as run:
            run.log_metrics({"rmse": float(rounds)}, prefix="val_")
            uri = run.log_model(model, features.spec, train)
        versions.append(registry.register(uri, MODEL_NAME).version)
    registry.set_alias(MODEL_NAME, "champion", versions[0])
    return RegistryWithModels(tracking_uri, data_dir, registry, tuple(versions))

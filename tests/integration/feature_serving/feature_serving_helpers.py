"""Real January trips, a registered model with its drift reference profile, and settings for the product app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from support.serving_settings import functional_settings
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.core.ports.learning import FeatureBuilder, TrainingSet
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.drift_detection.registration_hook import ReferenceProfileHook
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
from tripcast.settings import Settings

MODEL_NAME = "trip-duration"


def january_trips(shared_data_dir: Path) -> pd.DataFrame:
    """Valid green 2021-01 trips, as the product's validator keeps them."""
    path = shared_data_dir / "green_tripdata_2021-01.parquet"
    raw = RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))
    return PanderaTripValidator().split(raw).valid.reset_index(drop=True)


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    """Settings of a product instance living entirely under ``data_dir`` (SQLite MLflow, no cache); shedding
    counts requests in flight only (loop lag and busy share measure the host, and refused a request here on
    a loaded CI machine)."""
    return functional_settings(
        data_dir=data_dir,
        mlflow_tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}",
        mlflow_artifact_location=(data_dir / "mlartifacts").as_uri(),
        registry_poll_seconds=3600,
        **overrides,  # type: ignore[arg-type]
    )


def train_register_champion(settings: Settings, features: FeatureBuilder, train: TrainingSet, rounds: int = 40) -> str:
    """Fit LightGBM, log and register it with its drift reference profile, and make it the champion."""
    model = LightGBMTrainer(features.spec, {"num_threads": 1}, num_boost_round=rounds).fit(train, train)
    tracker = MlflowTracker(settings.tracking_uri, "feature-serving", settings.artifact_location)
    with tracker.start_run("champion") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(settings.tracking_uri, features)
    version = registry.register(uri, MODEL_NAME)
    ReferenceProfileHook(settings.tracking_uri, features.spec).after_registration(version, model, train)
    registry.set_alias(MODEL_NAME, "champion", version.version)
    return version.version

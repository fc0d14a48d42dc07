"""A real registry for the console's browser test: the serving e2e tests' two LightGBM versions (v1 champion),
each with the drift reference profile a registration stores, so the served traffic's drift is evaluated, and
the validated January (processed and quarantined files) the Data page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.serving.conftest import MODEL_NAME, RegistryWithModels
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.store import ParquetDatasetStore
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.drift_detection.registration_hook import ReferenceProfileHook
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer


@pytest.fixture(scope="session")
def console_registry(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RegistryWithModels:
    """Versions 1 (20 rounds, champion) and 2 (60 rounds), with reference profiles, on real January trips."""
    data_dir = tmp_path_factory.mktemp("console-e2e")
    tracking_uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    path = shared_data_dir / "green_tripdata_2021-01.parquet"
    split = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path)))
    trips = split.valid
    # What `tripcast validate --month 2021-01` leaves: the console's Data page reads it back.
    store = ParquetDatasetStore(data_dir / "processed", data_dir / "quarantine", service="green")
    store.save_processed(Month(2021, 1), split.valid)
    store.save_quarantine(Month(2021, 1), split.quarantined)
    features = TripFeatureBuilder()
    train = features.training_set(trips.head(6000), "2021-01-head")
    tracker = MlflowTracker(tracking_uri, "console-e2e", (data_dir / "artifacts").as_uri())
    registry = MlflowModelRegistry(tracking_uri, features)
    profiles = ReferenceProfileHook(tracking_uri, features.spec)
    versions = []
    for rounds in (20, 60):
        model = LightGBMTrainer(features.spec, {"num_threads": 1}, num_boost_round=rounds).fit(train, train)
        with tracker.start_run(f"e2e-{rounds}") as run:
            run.log_metrics({"rmse": float(rounds)}, prefix="val_")
            uri = run.log_model(model, features.spec, train)
        version = registry.register(uri, MODEL_NAME)
        profiles.after_registration(version, model, train)
        versions.append(version.version)
    registry.set_alias(MODEL_NAME, "champion", versions[0])
    return RegistryWithModels(tracking_uri, data_dir, registry, tuple(versions))

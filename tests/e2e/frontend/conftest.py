"""A real registry for the console's browser test: the serving e2e tests' two LightGBM versions (v1 champion),
each with the drift reference profile a registration stores, so the served traffic's drift is evaluated, and
the validated January (processed and quarantined files) the Data page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.serving.conftest import RegistryWithModels
from support.real_models import register_lightgbm_versions, validated_january
from tripcast.core.domain.month import Month
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.store import ParquetDatasetStore
from tripcast.mlops.drift_detection.registration_hook import ReferenceProfileHook


@pytest.fixture(scope="session")
def console_registry(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RegistryWithModels:
    """Versions 1 (20 rounds, champion) and 2 (60 rounds), with reference profiles, on real January trips."""
    data_dir = tmp_path_factory.mktemp("console-e2e")
    tracking_uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    split = validated_january(shared_data_dir)
    # What `tripcast validate --month 2021-01` leaves: the console's Data page reads it back.
    store = ParquetDatasetStore(data_dir / "processed", data_dir / "quarantine", service="green")
    store.save_processed(Month(2021, 1), split.valid)
    store.save_quarantine(Month(2021, 1), split.quarantined)
    profiles = ReferenceProfileHook(tracking_uri, TripFeatureBuilder().spec)
    made = register_lightgbm_versions(
        split.valid.head(6000),
        tracking_uri,
        data_dir / "artifacts",
        rounds=(20, 60),
        experiment="console-e2e",
        params={"num_threads": 1},
        log_rmse=True,
        after_registration=profiles.after_registration,
        champion=0,
    )
    return RegistryWithModels(tracking_uri, data_dir, made.registry, tuple(made.versions))

"""Small real models for tests that need a registry: LightGBM versions trained on real January 2021 trips,
logged with MLflow and registered, the way `tripcast train` does it but in seconds.

One place for what the serving, console, replay, ledger and fault tests each used to build by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

MODEL_NAME = "trip-duration"
JANUARY = "green_tripdata_2021-01.parquet"


def validated_january(shared_data_dir: Path) -> Any:
    """January 2021's green trips split by the validator (``.valid``, ``.quarantined``)."""
    path = shared_data_dir / JANUARY
    return PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path)))


@dataclass(frozen=True)
class RegisteredModels:
    """What :func:`register_lightgbm_versions` made: the registry and the versions, in ``rounds`` order."""

    registry: MlflowModelRegistry
    versions: list[str]


def register_lightgbm_versions(
    trips: Any,
    tracking_uri: str,
    artifact_dir: Path,
    *,
    rounds: Sequence[int],
    experiment: str,
    dataset_name: str = "2021-01-head",
    params: Mapping[str, Any] | None = None,
    log_rmse: bool = False,
    tags: Mapping[str, str] | None = None,
    after_registration: Callable[[Any, Any, Any], None] | None = None,
    champion: int | None = None,
) -> RegisteredModels:
    """Fit one LightGBM per entry of ``rounds`` (boosting rounds) on ``trips``, log and register each.

    ``log_rmse`` logs ``val_rmse`` = rounds (tests that order versions by a metric); ``after_registration``
    gets (version, model, training set), e.g. a drift reference profile hook; ``champion`` is the index in
    ``rounds`` of the version to alias ``champion`` (none by default).
    """
    features = TripFeatureBuilder()
    train = features.training_set(trips, dataset_name)
    tracker = MlflowTracker(tracking_uri, experiment, artifact_dir.as_uri())
    registry = MlflowModelRegistry(tracking_uri, features)
    versions = []
    for count in rounds:
        model = LightGBMTrainer(features.spec, dict(params) if params else None, num_boost_round=count).fit(
            train, train
        )
        with tracker.start_run(f"{experiment}-{count}") as run:
            if log_rmse:
                run.log_metrics({"rmse": float(count)}, prefix="val_")
            uri = run.log_model(model, features.spec, train)
        version = registry.register(uri, MODEL_NAME, tags=dict(tags) if tags else None)
        if after_registration is not None:
            after_registration(version, model, train)
        versions.append(version.version)
    if champion is not None:
        registry.set_alias(MODEL_NAME, "champion", versions[champion])
    return RegisteredModels(registry, versions)

"""A real SQLite MLflow registry holding two small LightGBM versions trained on real January trips."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support.real_models import MODEL_NAME, register_lightgbm_versions, validated_january
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

__all__ = ["MODEL_NAME", "RegistryWithModels"]


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
    made = register_lightgbm_versions(
        validated_january(shared_data_dir).valid.head(6000),
        tracking_uri,
        data_dir / "artifacts",
        rounds=(20, 60),
        experiment="serving-e2e",
        params={"num_threads": 1},
        log_rmse=True,
        champion=0,
    )
    return RegistryWithModels(tracking_uri, data_dir, made.registry, tuple(made.versions))

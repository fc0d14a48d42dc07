"""The compile-on-registration hook (core CompileOnRegistration on the TreeliteModelCompiler adapter) on a small
real model: compiles at registration, verifies against the fitted model on training rows, publishes the library
and audits ``model.optimized``, and the optimized loader then serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from serving_champion import MODEL_NAME, processed

from support.fakes_ml import FakeAudit, FakeClock
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.services.optimization import OPTIMIZED, CompileOnRegistration, Optimization
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.serving.optimization import OptimizedPredictor, OptimizedPredictorLoader, TreeliteModelCompiler
from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer


@pytest.fixture(scope="module")
def registered(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 15-round model on 20k real January trips, registered in its own SQLite registry."""
    root = tmp_path_factory.mktemp("compile-hook")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    features = TripFeatureBuilder()
    train = features.training_set(processed(shared_data_dir, "2021-01").head(20_000), "2021-01-head")
    model = LightGBMTrainer(features.spec, num_boost_round=15).fit(train, train)
    with MlflowTracker(tracking_uri, "compile-hook", (root / "artifacts").as_uri()).start_run("hook") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(tracking_uri, features)
    version = registry.register(uri, MODEL_NAME)
    return {
        "uri": tracking_uri,
        "registry": registry,
        "features": features,
        "train": train,
        "model": model,
        "v": version,
    }


def compile_hook(registered: dict[str, Any], audit: FakeAudit, **options: Any) -> CompileOnRegistration:
    compiler = TreeliteModelCompiler(registered["uri"], **options)
    optimization = Optimization(registry=registered["registry"], compiler=compiler, clock=FakeClock(), audit=audit)
    return CompileOnRegistration(optimization, actor="pytest")


def test_hook_compiles_verifies_and_publishes(registered: dict[str, Any]) -> None:
    version: ModelVersion = registered["v"]
    train: TrainingSet = registered["train"]
    audit = FakeAudit()
    hook = compile_hook(registered, audit, compiler_options=("-O0",), check_rows=500)

    summary = hook.after_registration(version, registered["model"], train)

    assert summary.startswith("compiled inference form (-O0) in ")
    assert " on 600 rows" in summary  # 500 sampled training rows + the 100-row stored input example
    assert "\n" not in summary
    tags = MlflowClient(registered["uri"], registered["uri"]).get_model_version(MODEL_NAME, version.version).tags
    assert tags[ARTIFACT_TAG] == f"optimized/v{version.version}/{MODEL_NAME}-v{version.version}.so"
    [event] = audit.rows
    assert (event.action, event.actor, event.details["artifact"]) == (OPTIMIZED, "pytest", tags[ARTIFACT_TAG])

    predictor = OptimizedPredictorLoader(registered["registry"], registered["uri"], registered["features"])(
        MODEL_NAME, version.version
    )
    assert isinstance(predictor, OptimizedPredictor)
    rows = train.features[registered["features"].spec.feature_names].head(64).to_numpy(dtype=np.float64)
    native = registered["model"].native.predict(rows)
    assert np.max(np.abs(predictor.forms["tl2cgen-compiled"].predict(rows) - native)) <= 1e-4


def test_failed_build_is_reported_not_raised(registered: dict[str, Any]) -> None:
    audit = FakeAudit()
    hook = compile_hook(registered, audit, compiler_options=("-fno-such-gcc-option",), check_rows=10)
    summary = hook.after_registration(registered["v"], registered["model"], registered["train"])
    assert summary.startswith(f"compiled form NOT published for v{registered['v'].version}")
    assert audit.rows == []


class NotATreeModel(TrainedModel):
    flavor = "sklearn"

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def predict(self, features: Any) -> Any:
        return np.zeros(len(features))


def test_other_flavors_are_skipped(registered: dict[str, Any]) -> None:
    summary = compile_hook(registered, FakeAudit()).after_registration(
        registered["v"], NotATreeModel(), registered["train"]
    )
    assert "skipped" in summary and "sklearn" in summary


def test_check_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="check_rows"):
        TreeliteModelCompiler("sqlite:///unused.db", check_rows=0)

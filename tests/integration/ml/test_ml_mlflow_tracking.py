"""MLflow tracking on a real SQLite store: what a training run records, and serving the logged model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.entities import RunStatus
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from tripcast.core.ports.learning import TrainingSet
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.tracking import plots
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.baseline import LinearBaselineTrainer
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
from tripcast.mlops.training.metrics import RegressionMetrics


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module: creating an MLflow database runs every migration (seconds of CPU)."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture()
def tracker(store_dir: Path) -> MlflowTracker:
    return MlflowTracker(f"sqlite:///{store_dir / 'mlflow.db'}", "tracking-test", (store_dir / "artifacts").as_uri())


@pytest.fixture(scope="module")
def datasets(
    processed_month: Callable[[str], pd.DataFrame], feature_builder: TripFeatureBuilder
) -> dict[str, TrainingSet]:
    return {
        month: feature_builder.training_set(processed_month(month).head(rows), month)
        for month, rows in (("2021-01", 6000), ("2021-02", 2000), ("2021-03", 2000))
    }


def test_a_training_run_records_everything(
    tracker: MlflowTracker,
    datasets: dict[str, TrainingSet],
    feature_builder: TripFeatureBuilder,
    store_dir: Path,
    tmp_path: Path,
) -> None:
    spec = feature_builder.spec
    train, valid, test = datasets["2021-01"], datasets["2021-02"], datasets["2021-03"]
    model = LightGBMTrainer(spec, num_boost_round=60).fit(train, valid)
    metrics = RegressionMetrics(spec)
    with tracker.start_run("lightgbm-2021-01", tags={"role": "candidate"}) as run:
        run.log_params({"flavor": model.flavor, **model.params})
        for data, context in ((train, "training"), (valid, "validation"), (test, "testing")):
            run.log_dataset(data, context)
        run.log_metrics(metrics.evaluate(model, valid).metrics, prefix="val_")
        run.log_metrics(metrics.evaluate(model, test).metrics, prefix="test_")
        run.log_diagnostics(model, valid)
        model_uri = run.log_model(model, spec, valid)
        run.set_tags({"train_month": "2021-01"})
        run_id = run.run_id

    client = MlflowClient(tracker.tracking_uri)
    recorded = client.get_run(run_id)
    assert recorded.info.status == "FINISHED"
    assert recorded.info.artifact_uri.startswith((store_dir / "artifacts").as_uri())
    assert recorded.data.params["flavor"] == "lightgbm" and recorded.data.params["num_boost_round"] == "60"
    assert recorded.data.params["categorical_as_numeric"] == "zone_pair"
    for prefix in ("val_", "test_"):
        assert {f"{prefix}rmse", f"{prefix}mae", f"{prefix}r2"} <= set(recorded.data.metrics)
    assert 3.0 < recorded.data.metrics["val_rmse"] < 8.0
    assert recorded.data.tags["role"] == "candidate" and recorded.data.tags["train_month"] == "2021-01"

    inputs = {
        (d.dataset.name, d.dataset.digest): {t.key: t.value for t in d.tags} for d in recorded.inputs.dataset_inputs
    }
    assert inputs[("2021-01", train.digest)]["mlflow.data.context"] == "training"
    assert inputs[("2021-02", valid.digest)]["mlflow.data.context"] == "validation"
    assert inputs[("2021-03", test.digest)]["mlflow.data.context"] == "testing"
    logged_train = next(d.dataset for d in recorded.inputs.dataset_inputs if d.dataset.name == "2021-01")
    assert json.loads(logged_train.profile) == {"num_rows": 6000, "num_elements": 6000 * 12}
    columns = {c["name"]: c["type"] for c in json.loads(logged_train.schema)["mlflow_colspec"]}
    assert columns["zone_pair"] == "long" and columns["target"] == "double" and len(columns) == 12

    artifacts = {a.path for a in client.list_artifacts(run_id, "diagnostics")}
    assert artifacts == {plots.RESIDUALS_FILE, plots.IMPORTANCE_FILE}
    residuals = Path(client.download_artifacts(run_id, plots.RESIDUALS_FILE, str(tmp_path)))
    assert residuals.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and residuals.stat().st_size > 10_000

    mlflow.set_tracking_uri(tracker.tracking_uri)  # the tracker restores the global URI after its run
    logged = Model.load(model_uri)
    assert "lightgbm" in logged.flavors
    assert logged.signature is not None
    assert logged.signature.inputs.input_names() == spec.feature_names
    types = {c.name: c.type.name for c in logged.signature.inputs.inputs}
    assert types["pickup_zone"] == "long" and types["trip_distance"] == "double"
    assert logged.metadata["spec"] == spec.name

    # the served model accepts the integer feature frame, as the API would send it
    served = mlflow.pyfunc.load_model(model_uri)
    predicted = np.asarray(served.predict(valid.features.head(200)))
    np.testing.assert_allclose(predicted, model.predict(valid.features.head(200)), rtol=1e-9)


def test_the_baseline_logs_with_the_sklearn_flavor_and_serves(
    tracker: MlflowTracker, datasets: dict[str, TrainingSet], feature_builder: TripFeatureBuilder
) -> None:
    spec = feature_builder.spec
    baseline = LinearBaselineTrainer(spec).fit(datasets["2021-01"], datasets["2021-02"])
    with tracker.start_run("baseline") as run:
        run.log_diagnostics(baseline, datasets["2021-02"])
        model_uri = run.log_model(baseline, spec, datasets["2021-02"])
    mlflow.set_tracking_uri(tracker.tracking_uri)
    assert "sklearn" in Model.load(model_uri).flavors
    served = mlflow.pyfunc.load_model(model_uri)
    features = datasets["2021-02"].features.head(50)
    np.testing.assert_allclose(np.asarray(served.predict(features)), baseline.predict(features), rtol=1e-9)


def test_a_run_whose_body_fails_is_marked_failed(tracker: MlflowTracker) -> None:
    with pytest.raises(RuntimeError, match="boom"), tracker.start_run("doomed") as run:
        run.log_params({"lr": 0.1})
        run_id = run.run_id
        raise RuntimeError("boom")
    recorded = MlflowClient(tracker.tracking_uri).get_run(run_id)
    assert recorded.info.status == RunStatus.to_string(RunStatus.FAILED)
    assert recorded.data.params == {"lr": "0.1"}


def test_runs_land_in_the_named_experiment_with_its_artifact_location(tracker: MlflowTracker, store_dir: Path) -> None:
    with tracker.start_run("first"):
        pass
    again = MlflowTracker(tracker.tracking_uri, "tracking-test")  # reuses the existing experiment
    assert again.experiment_id == tracker.experiment_id
    experiment = MlflowClient(tracker.tracking_uri).get_experiment(tracker.experiment_id)
    assert experiment.name == "tracking-test"
    assert experiment.artifact_location == (store_dir / "artifacts").as_uri()

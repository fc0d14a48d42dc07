"""Experiment tracking on MLflow: params, metrics, datasets, diagnostic plots and models.

One :class:`MlflowTracker` per (tracking URI, experiment). Runs are opened through
``mlflow.start_run`` so that MLflow marks them FAILED when the ``with`` body raises.
Models are logged with the native flavor that matches the trained model (LightGBM
booster -> ``mlflow.lightgbm``, sklearn pipeline -> ``mlflow.sklearn``), with a
signature and a few-row input example taken from the spec's feature columns.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any, Final

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Metric, Param, RunTag
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.ports.tracking import ExperimentTracker, TrackedRun
from tripcast.mlops.tracking import plots
from tripcast.mlops.tracking.client import mlflow_client, pinned_mlflow_uris

#: Artifact name of the logged model inside its run / logged-model record.
MODEL_NAME: Final = "model"
#: Rows of the input example stored with the model (a few KB of JSON): enough distinct rows for the
#: server to time its inference forms on when it loads the version.
EXAMPLE_ROWS: Final = 100
#: Column holding the target in logged datasets.
TARGET_COLUMN: Final = "target"
#: Rows sampled to infer a logged dataset's schema.
SCHEMA_SAMPLE_ROWS: Final = 1000
#: MLflow refuses param values longer than this.
MAX_PARAM_LENGTH: Final = 6000


@contextmanager
def _quiet_integer_hint() -> Iterator[None]:
    """Silence MLflow's hint that integer columns cannot hold missing values: features never have any."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        yield


def _requirements(*distributions: str) -> list[str]:
    """Pinned pip requirements for the packages a flavor needs (skips MLflow's slow inference subprocess)."""
    pins = []
    for name in distributions:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def _conda_env(*distributions: str) -> dict[str, Any]:
    """The model's environment, written out in full: given only pip requirements, MLflow looks up the
    installed pip to pin it in conda.yaml and warns on every model when (as in a uv venv) there is none."""
    python = ".".join(map(str, sys.version_info[:3]))
    return {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": _requirements("mlflow", *distributions)}],
    }


def _log_lightgbm(model: TrainedModel, **kwargs: Any) -> Any:
    import mlflow.lightgbm

    return mlflow.lightgbm.log_model(
        model.native,
        name=MODEL_NAME,
        conda_env=_conda_env("lightgbm", "numpy", "pandas", "scikit-learn"),
        **kwargs,
    )


def _log_sklearn(model: TrainedModel, **kwargs: Any) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.log_model(
        model.native,
        name=MODEL_NAME,
        conda_env=_conda_env("scikit-learn", "numpy", "pandas", "tripcast"),
        # skops refuses to load functions it was not told to trust; the model names its own.
        serialization_format="skops",
        skops_trusted_types=list(getattr(model, "skops_trusted_types", ())),
        **kwargs,
    )


#: Trained-model flavor -> function logging its native object with the matching MLflow flavor.
FLAVOR_LOGGERS: Final[dict[str, Callable[..., Any]]] = {"lightgbm": _log_lightgbm, "sklearn": _log_sklearn}


class MlflowRun(TrackedRun):
    """An open MLflow run; every call records onto ``run_id``."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self._client = client
        self.run_id = run_id

    def log_params(self, params: dict[str, Any]) -> None:
        """Record params; values are stringified (and clipped to MLflow's length limit)."""
        entries = [Param(str(k), str(v)[:MAX_PARAM_LENGTH]) for k, v in params.items()]
        if entries:
            self._client.log_batch(self.run_id, params=entries, synchronous=True)

    def log_metrics(self, metrics: dict[str, float], prefix: str = "") -> None:
        """Record metrics as ``<prefix><name>``."""
        stamp = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
        entries = [Metric(f"{prefix}{k}", float(v), stamp, 0) for k, v in metrics.items()]
        if entries:
            self._client.log_batch(self.run_id, metrics=entries, synchronous=True)

    def log_dataset(self, data: TrainingSet, context: str) -> None:
        """Record the dataset's name, digest, schema and size (not its rows) as a run input."""
        frame = pd.DataFrame(data.features).copy()
        frame[TARGET_COLUMN] = np.asarray(data.target, dtype=np.float64)
        with _quiet_integer_hint():
            dataset = from_pandas(frame, name=data.name, digest=data.digest, targets=TARGET_COLUMN)
            # MLflow infers the schema by scanning every value (~0.5 s a month); feature tables have no
            # missing values by construction, so a sample gives the same schema. ``schema`` is a cached_property.
            dataset.__dict__["schema"] = infer_signature(frame.head(SCHEMA_SAMPLE_ROWS)).inputs
            mlflow.log_input(dataset, context=context)

    def log_diagnostics(self, model: TrainedModel, data: TrainingSet) -> None:
        """Log the residual plot and, when the model ranks its inputs, the feature-importance plot."""
        spec = model.spec
        predicted = np.asarray(model.predict(data.features[spec.feature_names]), dtype=np.float64)
        figure = plots.residual_figure(
            np.asarray(data.target, dtype=np.float64),
            predicted,
            unit=spec.target_unit,
            title=f"{model.flavor} on {data.name}",
        )
        try:
            self._client.log_figure(self.run_id, figure, plots.RESIDUALS_FILE)
        finally:
            plots.close(figure)
        importance = model.feature_importance()
        if importance:
            figure = plots.importance_figure(importance, title=f"{model.flavor} feature importance")
            try:
                self._client.log_figure(self.run_id, figure, plots.IMPORTANCE_FILE)
            finally:
                plots.close(figure)

    def log_model(self, model: TrainedModel, spec: ModelSpec, example: TrainingSet) -> str:
        """Log the native model with signature and input example; return its ``models:/`` URI."""
        logger = FLAVOR_LOGGERS.get(model.flavor)
        if logger is None:
            raise ValueError(f"cannot log a model of flavor {model.flavor!r}; supported: {sorted(FLAVOR_LOGGERS)}")
        # Rows spread over the whole set, not its first minutes: the server times its inference forms on
        # them at load (tripcast.mlops.serving.optimization.single_row), and tree walks depend on the rows.
        features = example.features[spec.feature_names]
        stride = max(1, len(features) // EXAMPLE_ROWS)
        input_example = features.iloc[::stride].head(EXAMPLE_ROWS).reset_index(drop=True)
        with _quiet_integer_hint():
            signature = infer_signature(input_example, np.asarray(model.predict(input_example), dtype=np.float64))
            info = logger(
                model,
                signature=signature,
                input_example=input_example,
                metadata={"spec": spec.name, "features": spec.feature_names, "target": spec.target},
            )
        return str(info.model_uri)

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tag the run."""
        entries = [RunTag(str(k), str(v)) for k, v in tags.items()]
        if entries:
            self._client.log_batch(self.run_id, tags=entries, synchronous=True)


class MlflowTracker(ExperimentTracker):
    """Opens runs in ``experiment_name`` at ``tracking_uri`` (created with ``artifact_location`` if missing)."""

    def __init__(self, tracking_uri: str, experiment_name: str, artifact_location: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.artifact_location = artifact_location
        self._client = mlflow_client(tracking_uri)
        self._experiment_id: str | None = None

    @property
    def experiment_id(self) -> str:
        """The experiment's id, creating the experiment on first use."""
        if self._experiment_id is None:
            found = self._client.get_experiment_by_name(self.experiment_name)
            if found is not None and found.lifecycle_stage == "deleted":
                self._client.restore_experiment(found.experiment_id)
            if found is None:
                self._experiment_id = self._client.create_experiment(
                    self.experiment_name, artifact_location=self.artifact_location
                )
            else:
                self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str] | None = None) -> Iterator[TrackedRun]:
        """Yield an open run; MLflow ends it FINISHED, or FAILED if the body raises."""
        experiment_id = self.experiment_id
        with (
            pinned_mlflow_uris(self.tracking_uri),
            mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as active,
        ):
            yield MlflowRun(self._client, active.info.run_id)

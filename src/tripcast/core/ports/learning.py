"""Ports for turning trips into features, models and predictions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tripcast.core.domain.evaluation import Evaluation
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Model inputs and target for one named dataset."""

    features: Table
    target: Any
    name: str
    digest: str

    def __len__(self) -> int:
        return len(self.features)


class FeatureBuilder(ABC):
    """Turns valid trips (or trip requests) into the model's input columns."""

    spec: ModelSpec
    #: Whether building request features waits on I/O (a feature-store lookup). Servers keep such calls
    #: off their event loop; a builder that only computes may say False and be called inline.
    performs_io: bool = True

    @abstractmethod
    def training_set(self, trips: Table, name: str) -> TrainingSet:
        """Features and target for valid trips."""

    @abstractmethod
    def features_for_requests(self, requests: Sequence[TripRequest]) -> Table:
        """Features for trip requests, in ``spec`` column order."""

    def feature_matrix(self, requests: Sequence[TripRequest]) -> Any:
        """Features for trip requests as a float matrix in ``spec`` order, for predictors answering few rows.

        Builders with a leaner path than a table (no DataFrame for one row) override it; this default gives
        the table, which every predictor also accepts.
        """
        return self.features_for_requests(requests)


class TrainedModel(ABC):
    """A fitted model, before or after registration."""

    flavor: str
    params: dict[str, Any]
    #: The spec it was fitted for (its feature columns and target).
    spec: ModelSpec
    #: The library's own fitted object (LightGBM booster, sklearn pipeline), which trackers store.
    native: Any

    def feature_importance(self) -> dict[str, float]:
        """How much each feature matters, by name; empty when the model does not rank its inputs."""
        return {}

    @abstractmethod
    def predict(self, features: Table) -> Any:
        """Predictions for a feature table, as a 1-D numeric array."""


class ModelTrainer(ABC):
    """Fits a model for a spec."""

    @abstractmethod
    def fit(self, train: TrainingSet, valid: TrainingSet) -> TrainedModel:
        """Fit on ``train``; ``valid`` may be used for early stopping only."""


class MetricsCalculator(ABC):
    """Computes the spec's metrics for predictions against a target."""

    @abstractmethod
    def evaluate(self, model: TrainedModel | Predictor, data: TrainingSet) -> Evaluation:
        """Metrics of ``model`` on ``data``."""


class Predictor(ABC):
    """A loaded model version that answers trip requests."""

    model_name: str
    model_version: str
    #: True when ``predict_trips`` never waits on I/O and costs microseconds per row (a compiled model
    #: with a computing-only feature builder): a server may answer small requests on its event loop,
    #: which is cheaper than handing them to a worker thread.
    cpu_only: bool = False

    @abstractmethod
    def predict_features(self, features: Table) -> Any:
        """Predictions for a feature table, as a 1-D numeric array."""

    @abstractmethod
    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        """Predicted minutes for each request, in order."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a finished tracked training run produced."""

    run_id: str
    model_uri: str
    metrics: dict[str, float] = field(default_factory=dict)

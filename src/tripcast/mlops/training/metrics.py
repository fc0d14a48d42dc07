"""Regression metrics for a trained model or a loaded predictor, for any spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from tripcast.core.domain.evaluation import Evaluation
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import MetricsCalculator, Predictor, TrainedModel, TrainingSet


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(actual - predicted)))


def r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination; 0.0 when the target is constant (nothing to explain)."""
    total = float(np.sum((actual - actual.mean()) ** 2))
    if total == 0.0:
        return 0.0
    return 1.0 - float(np.sum((actual - predicted) ** 2)) / total


METRIC_FUNCTIONS: Final[dict[str, Callable[[np.ndarray, np.ndarray], float]]] = {"rmse": rmse, "mae": mae, "r2": r2}


class RegressionMetrics(MetricsCalculator):
    """Computes ``spec.metrics`` (any of rmse, mae, r2) on a dataset."""

    def __init__(self, spec: ModelSpec) -> None:
        unknown = [m for m in spec.metrics if m not in METRIC_FUNCTIONS]
        if unknown:
            raise ValueError(f"spec {spec.name!r} asks for metrics {unknown}; supported: {sorted(METRIC_FUNCTIONS)}")
        self.spec = spec

    def evaluate(self, model: TrainedModel | Predictor, data: TrainingSet) -> Evaluation:
        """Metrics of ``model`` (a TrainedModel, or a Predictor via ``predict_features``) on ``data``."""
        if len(data) == 0:
            raise ValueError(f"dataset {data.name!r} is empty: nothing to evaluate")
        features = data.features[self.spec.feature_names]
        raw = model.predict_features(features) if isinstance(model, Predictor) else model.predict(features)
        predicted = np.asarray(raw, dtype=np.float64).reshape(-1)
        actual = np.asarray(data.target, dtype=np.float64).reshape(-1)
        if predicted.shape != actual.shape:
            raise ValueError(f"{predicted.shape[0]} predictions for {actual.shape[0]} targets in {data.name!r}")
        metrics = {name: METRIC_FUNCTIONS[name](actual, predicted) for name in self.spec.metrics}
        return Evaluation(metrics=metrics, n=len(actual), dataset=data.name, dataset_digest=data.digest)

"""Regression metrics against numpy/sklearn, for trained models and predictors alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from tripcast.core.domain.evaluation import Evaluation, decide_promotion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor, TrainedModel, TrainingSet
from tripcast.mlops.training.metrics import RegressionMetrics

SPEC = ModelSpec(
    name="toy",
    features=(FeatureSpec("x", FeatureKind.NUMERIC), FeatureSpec("c", FeatureKind.CATEGORICAL)),
    target="y",
)


class ShiftedModel(TrainedModel):
    """Predicts x + shift, so errors are known exactly."""

    flavor = "test"

    def __init__(self, shift: float) -> None:
        self.shift = shift
        self.params: dict[str, Any] = {"shift": shift}

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        assert list(features.columns) == SPEC.feature_names  # metrics pass spec columns only, in order
        return features["x"].to_numpy() + self.shift


class TablePredictor(Predictor):
    """A predictor whose answers come from predict_features only."""

    model_name = "toy"
    model_version = "1"

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def predict_features(self, features: pd.DataFrame) -> np.ndarray:
        return features["x"].to_numpy() + self.shift

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        raise AssertionError("metrics must use predict_features")


def _data(target: np.ndarray, name: str = "d", digest: str = "abc") -> TrainingSet:
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"c": np.arange(len(target)) % 3, "x": rng.normal(size=len(target)), "extra": 1})
    return TrainingSet(features=features, target=target, name=name, digest=digest)


def test_metrics_match_numpy_and_sklearn() -> None:
    rng = np.random.default_rng(0)
    data = _data(rng.normal(10, 3, size=500))
    evaluation = RegressionMetrics(SPEC).evaluate(ShiftedModel(0.5), data)
    predicted = data.features["x"].to_numpy() + 0.5
    assert evaluation.metric("rmse") == pytest.approx(np.sqrt(mean_squared_error(data.target, predicted)))
    assert evaluation.metric("rmse") == pytest.approx(np.sqrt(np.mean((data.target - predicted) ** 2)))
    assert evaluation.metric("mae") == pytest.approx(mean_absolute_error(data.target, predicted))
    assert evaluation.metric("r2") == pytest.approx(r2_score(data.target, predicted))
    assert (evaluation.n, evaluation.dataset, evaluation.dataset_digest) == (500, "d", "abc")


def test_predictor_is_scored_through_predict_features() -> None:
    data = _data(np.linspace(0, 10, 50))
    metrics = RegressionMetrics(SPEC)
    assert metrics.evaluate(TablePredictor(1.0), data).metrics == metrics.evaluate(ShiftedModel(1.0), data).metrics


def test_perfect_and_constant_targets() -> None:
    data = _data(np.zeros(20))
    data = TrainingSet(data.features, data.features["x"].to_numpy(), "perfect", "")
    perfect = RegressionMetrics(SPEC).evaluate(ShiftedModel(0.0), data)
    assert perfect.metrics == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}
    constant = RegressionMetrics(SPEC).evaluate(ShiftedModel(0.0), _data(np.full(20, 7.0)))
    assert constant.metric("r2") == 0.0


def test_bad_inputs_are_explained() -> None:
    with pytest.raises(ValueError, match="empty"):
        RegressionMetrics(SPEC).evaluate(ShiftedModel(0.0), _data(np.zeros(0)))
    short = _data(np.zeros(10))
    short = TrainingSet(short.features, np.zeros(9), "short", "")
    with pytest.raises(ValueError, match="10 predictions for 9 targets"):
        RegressionMetrics(SPEC).evaluate(ShiftedModel(0.0), short)
    odd = ModelSpec(name="odd", features=SPEC.features, target="y", metrics=("rmse", "mape"))
    with pytest.raises(ValueError, match="mape"):
        RegressionMetrics(odd)


def test_gate_on_computed_evaluations() -> None:
    """Edge cases of decide_promotion fed by real metric computations."""
    metrics = RegressionMetrics(SPEC)
    data = _data(np.random.default_rng(2).normal(size=200))
    good, bad = metrics.evaluate(ShiftedModel(0.1), data), metrics.evaluate(ShiftedModel(0.9), data)
    assert decide_promotion(SPEC, good, bad).approved
    refused = decide_promotion(SPEC, bad, good)
    assert not refused.approved and "not better" in refused.reason
    assert refused.candidate_score > refused.champion_score  # type: ignore[operator]
    # a tie is not an improvement: the champion stays
    assert not decide_promotion(SPEC, good, good).approved
    # a champion scored on other data cannot be compared
    other = metrics.evaluate(ShiftedModel(0.1), _data(data.target, name="other", digest="zzz"))
    with pytest.raises(ValueError, match="same data"):
        decide_promotion(SPEC, bad, other)
    # evaluations without digests (legacy) still compare by score
    undigested = metrics.evaluate(ShiftedModel(0.9), _data(data.target, digest=""))
    assert decide_promotion(SPEC, good, undigested).approved
    # a spec missing the primary metric in the evaluation fails loudly
    r2_spec = ModelSpec(name="r2", features=SPEC.features, target="y", metrics=("r2",), primary_metric="r2")
    with pytest.raises(KeyError, match="r2"):
        decide_promotion(r2_spec, Evaluation({"rmse": 1.0}, 1, "d"), None)

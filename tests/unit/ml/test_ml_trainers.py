"""LightGBM and baseline trainers on small synthetic trips built by the real feature builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.core.ports.learning import TrainingSet
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.training.baseline import LinearBaselineTrainer, to_records
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
from tripcast.mlops.training.metrics import RegressionMetrics

SPEC = TRIP_DURATION_SPEC


def _synthetic(n: int, seed: int) -> TrainingSet:
    """Trips whose duration is 3 min/mile plus a rush-hour penalty, with noise."""
    rng = np.random.default_rng(seed)
    pickup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 31 * 24 * 60, n), unit="min")
    trips = pd.DataFrame(
        {
            "pickup_datetime": pickup.astype("datetime64[us]"),
            "pickup_zone": rng.integers(1, 40, n),
            "dropoff_zone": rng.integers(1, 40, n),
            "trip_distance": rng.uniform(0.2, 12, n),
        }
    )
    rush = trips["pickup_datetime"].dt.hour.between(7, 9)
    trips["duration_minutes"] = 3 * trips["trip_distance"] + 8 * rush + rng.normal(0, 0.5, n)
    return TripFeatureBuilder().training_set(trips, f"synthetic-{seed}")


@pytest.fixture(scope="module")
def train() -> TrainingSet:
    return _synthetic(3000, 0)


@pytest.fixture(scope="module")
def valid() -> TrainingSet:
    return _synthetic(800, 1)


def test_lightgbm_learns_and_records_its_choices(train: TrainingSet, valid: TrainingSet) -> None:
    model = LightGBMTrainer(SPEC, {"learning_rate": 0.1}, num_boost_round=150, max_categorical_levels=100).fit(
        train, valid
    )
    rmse = RegressionMetrics(SPEC).evaluate(model, valid).metric("rmse")
    assert rmse < 1.5  # noise sd is 0.5; predicting the mean would score ~10
    assert model.flavor == "lightgbm" and model.native.num_trees() == 150
    # ~1500 zone pairs exceed the 100-level limit, so zone_pair goes in as a number; zones stay categorical
    assert model.params["categorical_as_numeric"] == "zone_pair"
    assert model.params["categorical_feature"].split(",") == [c for c in SPEC.categorical_features if c != "zone_pair"]
    assert model.params["learning_rate"] == 0.1 and model.params["n_train"] == 3000
    importance = model.feature_importance()
    assert max(importance, key=importance.__getitem__) == "trip_distance"


def test_lightgbm_predicts_the_same_from_frame_and_matrix(train: TrainingSet, valid: TrainingSet) -> None:
    model = LightGBMTrainer(SPEC, num_boost_round=20).fit(train, valid)
    shuffled = valid.features[list(reversed(SPEC.feature_names))]  # column order must not matter for frames
    np.testing.assert_allclose(model.predict(shuffled), model.predict(valid.features.to_numpy(dtype=np.float64)))


def test_holdout_early_stopping_trims_rounds(train: TrainingSet, valid: TrainingSet) -> None:
    model = LightGBMTrainer(
        SPEC, {"learning_rate": 0.3}, num_boost_round=2000, holdout_fraction=0.2, early_stopping_rounds=10
    ).fit(train, valid)
    assert 0 < model.native.num_trees() < 2000
    assert model.params["num_trees"] == model.native.num_trees()


def test_lightgbm_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="holdout_fraction"):
        LightGBMTrainer(SPEC, holdout_fraction=0.7)
    with pytest.raises(ValueError, match="num_boost_round"):
        LightGBMTrainer(SPEC, num_boost_round=0)


def test_baseline_is_a_linear_model_on_the_zone_pair(train: TrainingSet, valid: TrainingSet) -> None:
    model = LinearBaselineTrainer(SPEC).fit(train, valid)
    assert model.flavor == "sklearn"
    rmse = RegressionMetrics(SPEC).evaluate(model, valid).metric("rmse")
    assert rmse < 4.5  # the rush-hour effect is invisible to it, distance is not
    np.testing.assert_allclose(
        model.predict(valid.features), model.predict(valid.features.to_numpy(dtype=np.float64)), rtol=1e-9
    )
    coefficients = model.feature_importance()
    assert set(coefficients) == {"pair", "trip_distance"}
    assert coefficients["trip_distance"] == pytest.approx(3.0, abs=0.2)


def test_to_records_builds_pair_strings() -> None:
    frame = pd.DataFrame({"a": [1, 43], "b": [2, 151], "d": [0.5, 2.0]})
    layout = {"columns": ["a", "b", "d"], "pair_columns": ["a", "b"], "numeric_columns": ["d"]}
    records = to_records(frame, **layout)
    assert records == [{"pair": "1_2", "d": 0.5}, {"pair": "43_151", "d": 2.0}]
    assert to_records(frame.to_numpy(dtype=float), **layout) == records


def test_baseline_refuses_columns_outside_the_spec() -> None:
    with pytest.raises(ValueError, match="fare_amount"):
        LinearBaselineTrainer(SPEC, numeric_columns=("fare_amount",))

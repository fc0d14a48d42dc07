"""MlflowPredictor on a real LightGBM booster and sklearn pipeline (no MLflow store needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import FeatureBuilder, TrainingSet
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.predictor import MlflowPredictor
from tripcast.mlops.training.baseline import LinearBaselineTrainer
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

BUILDER = TripFeatureBuilder()


class TableOnlyBuilder(FeatureBuilder):
    """A builder with only the port's methods, counting how often the table path is used."""

    spec = BUILDER.spec

    def __init__(self) -> None:
        self.calls = 0

    def training_set(self, trips: pd.DataFrame, name: str) -> TrainingSet:
        return BUILDER.training_set(trips, name)

    def features_for_requests(self, requests: Sequence[TripRequest]) -> pd.DataFrame:
        self.calls += 1
        return BUILDER.features_for_requests(requests)


def _requests(n: int) -> list[TripRequest]:
    rng = np.random.default_rng(3)
    return [
        TripRequest.create(
            pickup_datetime=datetime(2021, 1, 1 + i % 28, i % 24, 15),
            pickup_zone=int(rng.integers(1, 266)),
            dropoff_zone=int(rng.integers(1, 266)),
            trip_distance=float(rng.uniform(0, 20)),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def train() -> TrainingSet:
    requests = _requests(1500)
    features = BUILDER.features_for_requests(requests)
    target = 2.5 * features["trip_distance"].to_numpy() + 3
    return TrainingSet(features, target, "synthetic", "")


@pytest.mark.parametrize("trainer_kind", ["lightgbm", "sklearn"])
def test_trip_and_table_paths_agree(train: TrainingSet, trainer_kind: str) -> None:
    spec = BUILDER.spec
    trainer = LightGBMTrainer(spec, num_boost_round=30) if trainer_kind == "lightgbm" else LinearBaselineTrainer(spec)
    model = trainer.fit(train, train)
    predictor = MlflowPredictor(
        model.native, flavor=trainer_kind, spec=spec, feature_builder=BUILDER, model_name="m", model_version="4"
    )
    requests = _requests(40)
    by_trips = predictor.predict_trips(requests)
    assert isinstance(BUILDER.feature_matrix(requests), np.ndarray)  # the lean path, no DataFrame
    np.testing.assert_allclose(by_trips, model.predict(BUILDER.features_for_requests(requests)), rtol=1e-10)
    # extra columns are ignored and column order does not matter for tables
    table = BUILDER.features_for_requests(requests)[list(reversed(spec.feature_names))].assign(extra=1)
    np.testing.assert_allclose(predictor.predict_features(table), by_trips, rtol=1e-10)
    assert predictor.predict_trips([]) == [] and predictor.predict_features(table.head(0)).shape == (0,)

    table_only = TableOnlyBuilder()
    fallback = MlflowPredictor(
        model.native, flavor=trainer_kind, spec=spec, feature_builder=table_only, model_name="m", model_version="4"
    )
    np.testing.assert_allclose(fallback.predict_trips(requests), by_trips, rtol=1e-10)
    assert table_only.calls == 1


def test_bad_tables_are_explained(train: TrainingSet) -> None:
    model = LightGBMTrainer(BUILDER.spec, num_boost_round=5).fit(train, train)
    predictor = MlflowPredictor(
        model.native, flavor="lightgbm", spec=BUILDER.spec, feature_builder=BUILDER, model_name="m", model_version="1"
    )
    assert predictor.loaded_at.tzinfo is not None and predictor.metrics == {}
    with pytest.raises(ValueError, match=r"lacks columns \['zone_pair'\]"):
        predictor.predict_features(train.features.drop(columns=["zone_pair"]))
    with pytest.raises(ValueError, match="11 columns, got shape"):
        predictor.predict_features(np.zeros((3, 4)))

"""LightGBM's single-row form against Booster.predict, and the load-time race between row forms."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from tripcast.mlops.serving.optimization.single_row import LightGBMSingleRow, fastest_row_model


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    rng = np.random.default_rng(7)
    features = rng.uniform(0, 10, size=(2000, 4))
    features[:, 3] = rng.integers(0, 30, size=2000)  # a categorical column, as zone ids are
    target = features[:, 0] * 2 + np.sin(features[:, 1]) + (features[:, 3] % 7) + rng.normal(0, 0.1, 2000)
    data = lgb.Dataset(features, target, categorical_feature=[3])
    return lgb.train({"objective": "regression", "num_leaves": 15, "verbose": -1, "seed": 1}, data, 30)


def test_single_row_form_equals_booster_predict_with_missing_values(booster: lgb.Booster) -> None:
    rows = np.random.default_rng(8).uniform(0, 10, size=(300, 4))
    rows[:, 3] = np.floor(rows[:, 3] * 3)
    rows[::5, 0] = np.nan
    rows[1::7, 3] = np.nan
    model = LightGBMSingleRow(booster)
    assert model.num_feature == 4
    assert np.allclose(model.predict(rows), booster.predict(rows), atol=1e-9, rtol=0)
    assert model.predict(rows[0]).shape == (1,)  # one row as a 1-D vector


def test_single_row_form_names_a_wrong_width(booster: lgb.Booster) -> None:
    with pytest.raises(ValueError, match="expected a matrix with 4 columns, got shape \\(2, 3\\)"):
        LightGBMSingleRow(booster).predict(np.zeros((2, 3)))


class FakeForm:
    num_feature = 2

    def __init__(self, form: str) -> None:
        self.form = form
        self.rows_seen = 0

    def predict(self, matrix: object) -> np.ndarray:
        rows = np.asarray(matrix)
        self.rows_seen += len(rows)
        return np.zeros(len(rows))


def test_race_keeps_the_form_its_timer_found_fastest_on_cycled_rows() -> None:
    slow, fast = FakeForm("compiled"), FakeForm("arrays")
    timings = {"compiled": 40.0, "arrays": 9.5}
    sampled: list[int] = []

    def timer(model: FakeForm, rows: np.ndarray) -> float:  # type: ignore[override]
        sampled.append(len(rows))
        return timings[model.form]

    result = fastest_row_model([slow, fast], np.ones((5, 2)), min_rows=64, timer=timer)  # type: ignore[list-item, arg-type]
    assert result.winner is fast
    assert sampled == [64, 64]  # five example rows cycled up to the minimum
    assert result.describe() == "arrays 9.5 us/row, compiled 40.0 us/row"


def test_race_refuses_nothing_to_time() -> None:
    with pytest.raises(ValueError, match="no inference form"):
        fastest_row_model([], np.ones((5, 2)))
    with pytest.raises(ValueError, match="non-empty 2-D sample"):
        fastest_row_model([FakeForm("a")], np.ones((0, 2)))  # type: ignore[list-item]

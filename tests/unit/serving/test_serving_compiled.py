"""CompiledTreeModel on a tiny LightGBM model: equality with LightGBM, missing values, input safety."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from tripcast.mlops.serving.optimization import CompiledTreeModel, compile_lightgbm


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[lgb.Booster, CompiledTreeModel]:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, size=(2000, 3))
    x[rng.random(2000) < 0.1, 1] = np.nan  # LightGBM learns a default direction for missing values
    y = 2 * x[:, 0] + np.nan_to_num(x[:, 1], nan=20.0) + rng.normal(0, 0.1, 2000)
    params = {"verbose": -1, "num_leaves": 8, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=15)
    library = compile_lightgbm(booster, tmp_path_factory.mktemp("lib") / "tiny.so", options=("-O0",))
    return booster, CompiledTreeModel(library)


def test_matches_lightgbm_including_missing_values(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    booster, compiled = models
    rows = np.random.default_rng(1).uniform(0, 10, size=(500, 3))
    rows[::4, 1] = np.nan
    rows[::7, 0] = np.nan
    original = rows.copy()
    assert np.allclose(compiled.predict(rows), booster.predict(rows), atol=1e-9, rtol=0)
    assert np.array_equal(rows, original, equal_nan=True)  # the caller's array is untouched
    assert compiled.num_feature == 3


def test_single_row_as_1d_and_empty_matrix(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    booster, compiled = models
    row = np.array([1.0, 2.0, 3.0])
    assert compiled.predict(row)[0] == pytest.approx(booster.predict(row.reshape(1, -1))[0], abs=1e-9)
    assert compiled.predict(np.empty((0, 3))).shape == (0,)


def test_wrong_width_is_refused(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    with pytest.raises(ValueError, match="3 columns"):
        models[1].predict(np.zeros((2, 4)))


def test_non_library_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a shared library")
    with pytest.raises(OSError):
        CompiledTreeModel(bogus)

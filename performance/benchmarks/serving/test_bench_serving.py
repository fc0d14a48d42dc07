"""Micro-benchmarks of the serving hot path (pytest-benchmark); not part of the test suite.

    .venv/bin/python -m pytest performance/benchmarks/serving -p no:cacheprovider \\
        --benchmark-columns=min,median,mean,ops

Trains the default LightGBM model (100 rounds) on real green 2021-01 trips and compiles it once per session.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.serving.optimization import CompiledTreeModel, compile_lightgbm
from tripcast.mlops.serving.optimization.single_row import LightGBMSingleRow
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "nyc-taxi"
REQUEST = TripRequest(datetime(2021, 2, 14, 8, 30), 74, 75, 1.6)


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = DATA / "green_tripdata_2021-01.parquet"
    if not path.exists():
        pytest.skip("real TLC data not found")
    trips = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))).valid
    features = TripFeatureBuilder()
    train = features.training_set(trips, "2021-01")
    booster = LightGBMTrainer(features.spec, num_boost_round=100).fit(train, train).native
    compiled = CompiledTreeModel(compile_lightgbm(booster, tmp_path_factory.mktemp("so") / "m.so"))
    return features, booster, compiled, train.features.to_numpy(np.float64)


def test_native_single_row(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, booster, _, matrix = model
    benchmark(booster.predict, matrix[:1], num_threads=1)


def test_compiled_single_row(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, _, compiled, matrix = model
    benchmark(compiled.predict, matrix[:1])


def test_lightgbm_single_row_api(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, booster, _, matrix = model
    benchmark(LightGBMSingleRow(booster).predict, matrix[:1])


def test_lightgbm_single_row_api_different_rows(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, booster, _, matrix = model
    form, rows = LightGBMSingleRow(booster), [matrix[i : i + 1] for i in range(1000)]

    def thousand_different_rows() -> None:
        for row in rows:
            form.predict(row)

    benchmark(thousand_different_rows)  # per row: the time / 1000


def test_feature_matrix_single_request(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    features = model[0]
    benchmark(features.feature_matrix, [REQUEST])


def test_native_batch_10k_rows(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, booster, _, matrix = model
    result = benchmark(booster.predict, matrix[:10_000])
    assert len(result) == 10_000  # rows/s = 10_000 / mean


def test_compiled_batch_10k_rows(benchmark, model) -> None:  # type: ignore[no-untyped-def]
    _, _, compiled, matrix = model
    result = benchmark(compiled.predict, matrix[:10_000])
    assert len(result) == 10_000

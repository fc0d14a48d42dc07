"""Compiled champion (treelite + tl2cgen) equals native LightGBM on the real validation month."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from serving_champion import MODEL_NAME, Champion

from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.model_registry.predictor import MlflowPredictor
from tripcast.mlops.serving.optimization import OptimizedPredictor, OptimizedPredictorLoader, optimize_model_version
from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG, PLATFORM_TAG


@pytest.fixture(scope="module")
def optimized(champion: Champion):  # type: ignore[no-untyped-def]
    features = champion.features.training_set(champion.valid_february, "2021-02").features
    return optimize_model_version(
        champion.tracking_uri,
        MODEL_NAME,
        champion.version,
        check_features=features.head(2000).to_numpy(dtype=np.float64),
        compiler_options=("-O0",),  # fastest build keeps the test quick; the code generated is the same
    )


def test_compiled_matches_native_on_february(champion: Champion, optimized) -> None:  # type: ignore[no-untyped-def]
    assert optimized.max_abs_diff <= 1e-4 and optimized.check_rows > 2000
    tags = champion.registry.get(MODEL_NAME, champion.version).tags
    assert tags[ARTIFACT_TAG] == optimized.artifact_path

    predictor = OptimizedPredictorLoader(champion.registry, champion.tracking_uri, champion.features)(
        MODEL_NAME, champion.version
    )
    assert isinstance(predictor, OptimizedPredictor)
    native = predictor.native
    assert isinstance(native, MlflowPredictor)
    february = champion.features.training_set(champion.valid_february, "2021-02").features
    assert len(february) > 50_000
    compiled_minutes = predictor.forms["tl2cgen-compiled"].predict(february.to_numpy(dtype=np.float64))
    native_minutes = native.predict_features(february)
    assert np.max(np.abs(compiled_minutes - native_minutes)) <= 1e-4

    trips = champion.valid_february.head(60)  # small requests are the ones the compiled model answers
    requests = [
        TripRequest(
            row.pickup_datetime.to_pydatetime(), int(row.pickup_zone), int(row.dropoff_zone), float(row.trip_distance)
        )
        for row in trips.itertuples()
    ]
    assert np.allclose(predictor.predict_trips(requests), native.predict_trips(requests), atol=1e-4, rtol=0)


def test_missing_values_follow_lightgbm(champion: Champion, optimized) -> None:  # type: ignore[no-untyped-def]
    predictor = OptimizedPredictorLoader(champion.registry, champion.tracking_uri, champion.features)(
        MODEL_NAME, champion.version
    )
    matrix = champion.features.training_set(champion.valid_february.head(200), "x").features.to_numpy(np.float64)
    matrix[::3, 7] = np.nan  # trip_distance unknown on a third of the rows
    matrix[1::5, 8] = np.nan
    assert np.allclose(
        predictor.forms["tl2cgen-compiled"].predict(matrix), predictor.native.native.predict(matrix), atol=1e-4, rtol=0
    )


def test_unusable_compiled_artifact_leaves_lightgbm_single_row(champion: Champion, optimized) -> None:  # type: ignore[no-untyped-def]
    client = MlflowClient(champion.tracking_uri, champion.tracking_uri)
    loader = OptimizedPredictorLoader(champion.registry, champion.tracking_uri, champion.features)

    def forms() -> set[str]:
        predictor = loader(MODEL_NAME, champion.version)
        assert isinstance(predictor, OptimizedPredictor)
        assert predictor.form in predictor.forms
        return set(predictor.forms)

    try:
        client.set_model_version_tag(MODEL_NAME, champion.version, PLATFORM_TAG, "plan9-mips")
        assert forms() == {"lightgbm-single-row"}
        client.set_model_version_tag(MODEL_NAME, champion.version, PLATFORM_TAG, optimized_platform())
        client.set_model_version_tag(MODEL_NAME, champion.version, ARTIFACT_TAG, "optimized/nowhere.so")
        assert forms() == {"lightgbm-single-row"}
    finally:
        client.set_model_version_tag(MODEL_NAME, champion.version, ARTIFACT_TAG, optimized.artifact_path)
        client.set_model_version_tag(MODEL_NAME, champion.version, PLATFORM_TAG, optimized_platform())
    assert forms() == {"lightgbm-single-row", "tl2cgen-compiled"}


def test_both_row_forms_equal_native_and_one_was_timed(champion: Champion, optimized) -> None:  # type: ignore[no-untyped-def]
    predictor = OptimizedPredictorLoader(champion.registry, champion.tracking_uri, champion.features)(
        MODEL_NAME, champion.version
    )
    assert isinstance(predictor, OptimizedPredictor)
    example = predictor.native.input_example  # type: ignore[attr-defined]
    assert example is not None and example.shape == (100, len(champion.features.spec.feature_names))
    assert "us/row" in predictor.choice  # both forms were usable, so the loader timed them on the example
    matrix = champion.features.training_set(champion.valid_february.head(500), "x").features.to_numpy(np.float64)
    matrix[::4, 7] = np.nan
    native = predictor.native.native.predict(matrix)  # type: ignore[attr-defined]
    for form in predictor.forms.values():
        assert np.allclose(form.predict(matrix), native, atol=1e-4, rtol=0), form.form


def optimized_platform() -> str:
    from tripcast.mlops.serving.optimization.compiled import platform_tag

    return platform_tag()

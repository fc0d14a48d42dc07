"""Small requests to a compiled, I/O-free model are answered on the event loop; everything else in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.serving_fakes import FakePredictor, FakeRegistry
from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction
from tripcast.data_engineering.features.store_features import StoreBackedTripFeatureBuilder
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.serving.caching import LruPredictionCache
from tripcast.mlops.serving.caching.redis_cache import RedisPredictionCache
from tripcast.mlops.serving.optimization.loader import OptimizedPredictor
from tripcast.mlops.serving.real_time import ModelHolder


class LoopRecordingPredictor(FakePredictor):
    """A fake that says whether each call ran on an event loop thread (inline) or a worker thread."""

    def __init__(self, *args: Any, cpu_only: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cpu_only = cpu_only
        self.on_loop: list[bool] = []

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        return super().predict_trips(requests)


class RecordingRegistry(FakeRegistry):
    def __init__(self, *, cpu_only: bool) -> None:
        super().__init__()
        self.cpu_only = cpu_only
        self.predictor: LoopRecordingPredictor | None = None
        self.add("1", alias="champion")

    def load_predictor(self, name: str, ref: str) -> LoopRecordingPredictor:
        version = self.get(name, ref).version
        self.predictor = LoopRecordingPredictor(name, version, offset=100.0, cpu_only=self.cpu_only)
        return self.predictor


def loaded_service(*, cpu_only: bool, limit: int = 8, cache: Any = None) -> Prediction:
    holder = ModelHolder(RecordingRegistry(cpu_only=cpu_only), "trip-duration")
    holder.refresh()
    return Prediction(holder, cache=cache, inline_max_requests=limit)


def test_inline_only_for_a_loaded_cpu_only_model_within_the_limit() -> None:
    service = loaded_service(cpu_only=True, limit=8)
    assert service.answers_inline(1) and service.answers_inline(8)
    assert not service.answers_inline(9)
    assert not loaded_service(cpu_only=False).answers_inline(1)
    assert not loaded_service(cpu_only=True, limit=0).answers_inline(1)
    unloaded = Prediction(ModelHolder(FakeRegistry(), "trip-duration"), inline_max_requests=8)
    assert not unloaded.answers_inline(1)


def test_a_cache_that_leaves_the_process_keeps_requests_off_the_loop() -> None:
    assert loaded_service(cpu_only=True, cache=LruPredictionCache(10)).answers_inline(1)
    redis_cache = RedisPredictionCache("redis://127.0.0.1:1/0")  # never contacted: only its kind matters
    assert not loaded_service(cpu_only=True, cache=redis_cache).answers_inline(1)


def test_optimized_predictor_is_cpu_only_exactly_when_its_feature_builder_does_no_io() -> None:
    native = FakePredictor("trip-duration", "1", offset=0.0)
    row_form = SimpleNamespace(form="lightgbm-single-row")
    assert OptimizedPredictor(native, row_form, TripFeatureBuilder()).cpu_only  # type: ignore[arg-type]
    store_builder = StoreBackedTripFeatureBuilder.__new__(StoreBackedTripFeatureBuilder)
    assert not OptimizedPredictor(native, row_form, store_builder).cpu_only  # type: ignore[arg-type]
    assert not native.cpu_only  # the port's default: off the loop unless a predictor says otherwise


@pytest.mark.parametrize(("cpu_only", "inline_max_trips", "batch", "expected_on_loop"), [
    (True, 8, 1, True),
    (True, 8, 9, False),
    (True, 0, 1, False),
    (False, 8, 1, False),
])  # fmt: skip
def test_the_api_answers_on_the_loop_or_in_a_thread(
    trip: dict[str, Any], cpu_only: bool, inline_max_trips: int, batch: int, expected_on_loop: bool
) -> None:
    registry = RecordingRegistry(cpu_only=cpu_only)
    app = create_app(
        serving_parts(functional_settings(inline_max_trips=inline_max_trips), registry, cache=None, poll=False)
    )
    body: dict[str, Any] = trip if batch == 1 else {"trips": [trip] * batch}
    with TestClient(app) as client:
        response = client.post("/v1/predictions", json=body)
    assert response.status_code == 200, response.text
    assert registry.predictor is not None and registry.predictor.on_loop == [expected_on_loop]

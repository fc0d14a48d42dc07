"""Overload over real HTTP: a burst far above max_in_flight gets fast 503s + Retry-After, never other 5xx.

Bounded: one burst of 60 requests against a uvicorn server on 127.0.0.1 started and stopped here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from support.serving_settings import functional_settings
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracking import ModelRegistry

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


class FakeSlowPredictor(Predictor):
    model_name = "trip-duration"
    model_version = "1"

    def predict_features(self, features: Any) -> Any:
        raise NotImplementedError("not used by the API")

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        time.sleep(0.05)  # a slow model keeps requests in flight long enough to pile up
        return [10.0 for _ in requests]


class FakeOneVersionRegistry(ModelRegistry):
    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        raise NotImplementedError

    def get(self, name: str, ref: str) -> ModelVersion:
        return ModelVersion(name, "1", ("champion",))

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        return self.get(name, alias)

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def list_versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, "1")]

    def load_predictor(self, name: str, ref: str) -> Predictor:
        return FakeSlowPredictor()


@pytest.fixture()
def base_url() -> Iterator[str]:
    # Only the in-flight bound, strict (no burst allowance: the slow model keeps the loop idle): every
    # refusal here must be counted as "overload", whatever the host's load.
    settings = functional_settings(max_in_flight=4, max_burst_in_flight=0)
    app = create_app(serving_parts(settings, FakeOneVersionRegistry(), cache=None, poll=False))
    with serve_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}"


def test_burst_above_capacity_is_shed_with_503(base_url: str) -> None:
    async def burst() -> tuple[list[httpx.Response], httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
            calls = [client.post("/v1/predictions", json=TRIP) for _ in range(60)]
            probe = client.get("/health/live")
            *responses, live = await asyncio.gather(*calls, probe)
            return responses, live

    responses, live = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) > 0 and statuses.count(200) >= 4
    shed = next(r for r in responses if r.status_code == 503)
    assert shed.headers["retry-after"] == "1" and "busy" in shed.json()["detail"]
    assert live.status_code == 200  # probes are never shed
    metrics = httpx.get(f"{base_url}/metrics").text
    assert f'tripcast_http_requests_rejected_total{{reason="overload"}} {float(statuses.count(503))}' in metrics

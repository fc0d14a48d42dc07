"""Real HTTP: uvicorn in a subprocess serving a real MLflow model; promoting a version needs no restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from support.serve_process import free_port, serve_process

TOKEN = "e2e-token-0123456789abcdef"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}
LONG_TRIP = {"pickup_datetime": "2021-02-14T17:30:00", "pickup_zone": 42, "dropoff_zone": 132, "trip_distance": 17.2}


def _when(trip: dict[str, Any]) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(trip["pickup_datetime"])


def wait_for(predicate: Any, limit: float, what: str) -> Any:
    deadline = time.monotonic() + limit
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


@contextmanager
def running_server(served_registry: Any, tmp_path: Any, *extra: str) -> Iterator[str]:
    """`tripcast serve` in a subprocess on a free port, ready to answer; stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "TRIPCAST_DATA_DIR": str(served_registry.data_dir),
        "TRIPCAST_MLFLOW_TRACKING_URI": served_registry.tracking_uri,
        "TRIPCAST_REGISTRY_POLL_SECONDS": "0.5",
        "TRIPCAST_API_TOKEN": TOKEN,
        "TRIPCAST_MAX_BATCH_SIZE": "50",
        # These tests check answers, not shedding: loop lag and busy share measure the host, and on a
        # loaded CI machine they would refuse a request (tests/unit/serving/test_serving_load_shedding.py).
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Started the way an operator does: the `serve` command (uvicorn on the ASGI factory); ready only once
    # the process we started listens on the port and answers (support.serve_process).
    with serve_process(env, tmp_path / "server.log", *extra, port=port) as base:
        yield base


def create_key(served_registry: Any, role: str) -> str:
    """An API key made the way an operator makes one: `tripcast tokens create ... | tail -1`."""
    import uuid

    env = {**os.environ, "TRIPCAST_DATA_DIR": str(served_registry.data_dir)}
    command = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "tokens", "create"]
    name = f"e2e-{role}-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        [*command, "--name", name, "--role", role], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return created.stdout.strip().splitlines()[-1]


@pytest.fixture()
def server(served_registry: Any, tmp_path: Any) -> Iterator[str]:
    with running_server(served_registry, tmp_path) as base:
        yield base


def test_serves_predicts_and_follows_promotion_without_restart(server: str, served_registry: Any) -> None:
    v1, v2 = served_registry.versions
    with httpx.Client(base_url=server, timeout=10) as client:
        assert client.get("/health/live").json() == {"status": "alive"}
        current = client.get("/v1/models/current").json()
        assert current["model_version"] == v1 and current["aliases"] == ["champion"]

        single = client.post("/v1/predictions", json=TRIP).json()
        assert single["model_version"] == v1 and 1.0 < single["minutes"] < 60.0
        batch = client.post("/v1/predictions", json={"trips": [TRIP, LONG_TRIP]}).json()
        assert batch["predictions"][0] == pytest.approx(single["minutes"])
        assert batch["predictions"][1] > batch["predictions"][0]  # 17 miles takes longer than 1.6

        invalid = client.post("/v1/predictions", json={**TRIP, "dropoff_zone": 266})
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "dropoff_zone"
        assert client.post("/v1/predictions", json={"trips": [TRIP] * 51}).status_code == 413
        assert client.post("/v1/models/reload").status_code == 401

        # v2 gets a compiled form before promotion (advanced: tl2cgen): the server loads it with its fast row forms.
        from tripcast.core.domain.trip import TripRequest
        from tripcast.mlops.serving.optimization import optimize_model_version as optimize  # level: advanced

        optimize(served_registry.tracking_uri, "trip-duration", v2, compiler_options=("-O0",))  # level: advanced
        native = served_registry.registry.load_predictor("trip-duration", v2)
        expected = native.predict_trips([TripRequest.create(**{**TRIP, "pickup_datetime": _when(TRIP)})])[0]
        served_registry.registry.set_alias("trip-duration", "champion", v2)
        wait_for(lambda: client.get("/v1/models/current").json()["model_version"] == v2, 60, "the new champion")
        after = client.post("/v1/predictions", json=TRIP).json()
        assert after["model_version"] == v2
        assert client.get("/v1/models/current").json()["predictor"] == "OptimizedPredictor"  # level: advanced
        assert after["minutes"] == pytest.approx(expected, abs=1e-4)
        assert after["minutes"] != pytest.approx(single["minutes"], abs=1e-9)

        reload = client.post("/v1/models/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reload.status_code == 200 and reload.json()["model_version"] == v2
        viewer = {"Authorization": f"Bearer {create_key(served_registry, 'viewer')}"}
        assert client.post("/v1/models/reload", headers=viewer).status_code == 403
        operator = {"Authorization": f"Bearer {create_key(served_registry, 'operator')}"}
        keyed = client.post("/v1/models/reload", headers=operator)
        assert keyed.status_code == 200 and keyed.json()["model_version"] == v2

        metrics = client.get("/metrics").text
        assert f'tripcast_predictions_total{{model_name="trip-duration",model_version="{v2}"}}' in metrics
        assert 'tripcast_model_reloads_total{outcome="success"} 2.0' in metrics  # unchanged version: no load


def test_two_workers_report_every_request_in_one_scrape(served_registry: Any, tmp_path: Any) -> None:
    """With --workers 2 each worker answers some requests; any worker's /metrics counts all of them."""
    v1 = served_registry.registry.get("trip-duration", "champion").version
    with running_server(served_registry, tmp_path, "--workers", "2") as base:
        sent = 0
        metrics = ""
        model_lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for _ in range(20):  # a new connection each: the kernel hands them to either worker
                answer = httpx.post(f"{base}/v1/predictions", json=TRIP, timeout=10)
                assert answer.status_code == 200
                sent += 1
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
            model_lines = [line for line in metrics.splitlines() if line.startswith("tripcast_model_info{")]
            if len(model_lines) == 2:  # both workers have loaded the model and reported it
                break
        assert len(model_lines) == 2 and len({line.split('pid="')[1] for line in model_lines}) == 2, metrics
        total = f'tripcast_predictions_total{{model_name="trip-duration",model_version="{v1}"}} {float(sent)}'
        assert total in metrics, metrics

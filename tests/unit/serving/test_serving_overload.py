"""Overload protection: in-flight bound answers 503 + Retry-After at once; slow requests time out."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from fastapi.testclient import TestClient

from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.api.middleware import OverloadMiddleware
from tripcast.bootstrap.serving import serving_parts
from tripcast.mlops.serving.real_time import ServingMetrics


def test_requests_beyond_max_in_flight_get_503_with_retry_after() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        entered.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    metrics = ServingMetrics()
    guarded = OverloadMiddleware(slow_app, max_in_flight=1, timeout_seconds=10, max_body_bytes=1000, metrics=metrics)

    async def call(path: str) -> dict[str, Any]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", b"2")]}
        await guarded(scope, receive, send)
        start = sent[0]
        return {
            "status": start["status"],
            "headers": {k.decode(): v.decode() for k, v in start["headers"]},
            "body": b"".join(m.get("body", b"") for m in sent[1:]),
        }

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        first = asyncio.create_task(call("/v1/predictions"))
        await entered.wait()
        second = await call("/v1/predictions")
        health = asyncio.create_task(call("/health/live"))  # outside /v1/: passes the bound
        await asyncio.sleep(0)
        release.set()
        return await first, second, await health

    first, second, health = asyncio.run(scenario())
    assert first["status"] == 200
    assert second["status"] == 503 and second["headers"]["retry-after"] == "1"
    assert "busy" in json.loads(second["body"])["detail"]
    assert health["status"] == 200
    assert metrics.rejected.labels("overload")._value.get() == 1
    assert guarded.in_flight == 0


def test_slow_prediction_times_out_with_503(fake_registry: Any, trip: dict[str, Any]) -> None:
    gate = threading.Event()
    app = create_app(
        serving_parts(functional_settings(request_timeout_seconds=0.2), fake_registry, cache=None, poll=False)
    )
    with TestClient(app) as client:
        app.state.holder.current.predictor.delay = gate
        try:
            response = client.post("/v1/predictions", json=trip)
        finally:
            gate.set()
        assert response.status_code == 503
        assert "longer than 0.2 s" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
        assert 'tripcast_http_requests_rejected_total{reason="timeout"} 1.0' in client.get("/metrics").text


def test_slow_model_reload_is_not_cut_off_by_the_request_timeout(fake_registry: Any, tmp_path: Any) -> None:
    import time

    from support.api_keys import authenticator, bearer, key_store

    keys = key_store(tmp_path)
    operator = bearer(keys)

    def slow_loader(name: str, version: str) -> Any:
        time.sleep(0.5)  # a big model takes longer to load than a prediction may take
        return fake_registry.load_predictor(name, version)

    settings = functional_settings(request_timeout_seconds=0.2)
    app = create_app(
        serving_parts(
            settings, fake_registry, cache=None, poll=False, loader=slow_loader, authenticator=authenticator(keys)
        )
    )
    with TestClient(app) as client:
        fake_registry.add("2", alias="champion")
        response = client.post("/v1/models/reload", headers=operator)
        assert response.status_code == 200 and response.json()["model_version"] == "2"


def test_chunked_body_over_the_limit_is_cut_off_as_it_streams_and_answered_413() -> None:
    """No Content-Length (chunked): the bytes are counted as the app receives them; past the limit the
    app sees a disconnect, so it stops reading, and the client gets a 413 instead of the app's answer."""
    chunk = b"x" * 400
    delivered = 0
    read_by_app = 0

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal read_by_app
        while True:  # buffers the whole body, like Starlette's Request.body()
            message = await receive()
            if message["type"] != "http.request":
                break
            read_by_app += len(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        delivered += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": delivered < 100 * len(chunk)}

    metrics = ServingMetrics()
    guarded = OverloadMiddleware(reading_app, max_in_flight=8, timeout_seconds=10, max_body_bytes=1000, metrics=metrics)
    for path in ("/v1/predictions", "/other"):  # the body bound holds on every path, guarded or not
        sent: list[dict[str, Any]] = []
        delivered = read_by_app = 0

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        headers = [(b"transfer-encoding", b"chunked")]
        asyncio.run(guarded({"type": "http", "method": "POST", "path": path, "headers": headers}, receive, send))
        assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413], path
        assert delivered == 3 * len(chunk) and read_by_app == 2 * len(chunk)  # cut off at the crossing chunk
        assert dict(sent[0]["headers"])[b"connection"] == b"close"
        assert "exceeds 1000 bytes" in json.loads(sent[1]["body"])["detail"]
    assert metrics.rejected.labels("body_too_large")._value.get() == 2
    assert guarded.in_flight == 0

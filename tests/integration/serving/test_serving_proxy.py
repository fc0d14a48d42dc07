"""The shipped HAProxy configuration: valid for HAProxy itself, and in front of a real ``tripcast serve`` it
admits a bounded number of requests and refuses the excess with its own fast 503, before Python.

HAProxy comes from Debian's packages (``apt-get install -y haproxy``; ``.ci/run`` installs it). Without it
these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_champion import MODEL_NAME, Champion

from support.serve_process import answers_ready, free_port, stop_process, wait_until_serving

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "deployment" / "proxy" / "haproxy.cfg"
WORKER_ENV = REPO / "deployment" / "proxy" / "worker.env"
ANSWERED = r'tripcast_http_requests_total\{method="POST",route="/v1/predictions",status="200"\} (\S+)'
TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


def haproxy_binary() -> str:
    found = shutil.which("haproxy")
    if found is None:
        message = "haproxy is not installed (apt-get install -y haproxy; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_shipped_haproxy_config_is_valid_for_haproxy(workers: int) -> None:
    env = {**os.environ, **{f"TRIPCAST_WORKER_{i}": f"127.0.0.1:{8000 + i}" for i in range(1, workers + 1)}}
    checked = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(CONFIG)], env=env, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ALERT" not in checked.stderr and "WARNING" not in checked.stderr, checked.stderr


def clean_environ() -> dict[str, str]:
    """This process's environment without prometheus_client's multiprocess directory: a library imported
    by an earlier test (Feast) sets it, and a worker inheriting it would merge other processes' metrics."""
    return {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}


def worker_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in WORKER_ENV.read_text().splitlines() if line.strip() and line[0] != "#")
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.fixture()
def proxied_worker(champion: Champion, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``tripcast serve`` (the worker settings shipped with the proxy) behind HAProxy admitting one request
    at a time with a queue of one (and time to wait in it): (proxy URL, worker URL)."""
    haproxy = haproxy_binary()
    worker_port, proxy_port = free_port(), free_port()
    env = {
        **clean_environ(),
        **worker_env(),
        "TRIPCAST_MLFLOW_TRACKING_URI": champion.tracking_uri,
        "TRIPCAST_MODEL_NAME": MODEL_NAME,
        "TRIPCAST_DATA_DIR": str(tmp_path / "data"),
        "TRIPCAST_CACHE_SIZE": "0",
    }
    worker_log, proxy_log = tmp_path / "worker.log", tmp_path / "haproxy.log"
    tripcast = str(Path(sys.executable).with_name("tripcast"))
    with worker_log.open("w") as out:
        worker = subprocess.Popen(
            [tripcast, "serve", "--port", str(worker_port), "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(worker, worker_port, answers_ready(f"http://127.0.0.1:{worker_port}"), log=worker_log)
        proxy_env = {
            **os.environ,
            "TRIPCAST_PROXY_BIND": f"127.0.0.1:{proxy_port}",
            "TRIPCAST_WORKER_1": f"127.0.0.1:{worker_port}",
            "TRIPCAST_WORKER_MAXCONN": "1",
            "TRIPCAST_WORKER_MAXQUEUE": "1",
            "TRIPCAST_QUEUE_TIMEOUT": "30s",  # the queued request waits its turn; the rest find the queue full
        }
        with proxy_log.open("w") as out:
            proxy = subprocess.Popen(
                [haproxy, "-db", "-f", str(CONFIG)], env=proxy_env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            proxy_ready = answers_ready(f"http://127.0.0.1:{proxy_port}")
            wait_until_serving(proxy, proxy_port, proxy_ready, log=proxy_log, seconds=30)
            yield f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{worker_port}"
        finally:
            stop_process(proxy)
    finally:
        stop_process(worker)


def worker_counts(worker_url: str) -> tuple[float, dict[str, float]]:
    """(prediction requests the worker answered 200, its own refusals by reason), from its /metrics."""
    text = httpx.get(f"{worker_url}/metrics", timeout=10).text
    answered = re.search(ANSWERED, text)
    refused = re.findall(r'tripcast_http_requests_rejected_total\{reason="([^"]+)"\} (\S+)', text)
    return float(answered.group(1)) if answered else 0.0, {reason: float(v) for reason, v in refused if float(v)}


def test_excess_concurrent_requests_get_the_proxys_503_and_never_reach_python(
    proxied_worker: tuple[str, str], champion: Champion
) -> None:
    proxy_url, worker_url = proxied_worker
    batch = {"trips": [TRIP] * 1000}  # the largest batch: each request holds the worker for a while
    answered_before, _ = worker_counts(worker_url)

    async def burst() -> tuple[list[tuple[httpx.Response, float]], httpx.Response]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=proxy_url, timeout=60, limits=limits) as client:

            async def one() -> tuple[httpx.Response, float]:
                started = time.perf_counter()
                response = await client.post("/v1/predictions", json=batch)
                return response, time.perf_counter() - started

            *timed, live = await asyncio.gather(*(one() for _ in range(60)), client.get("/health/live"))
            return list(timed), live

    timed, live = asyncio.run(burst())
    responses = [response for response, _ in timed]
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    ok, refused = statuses.count(200), statuses.count(503)
    assert ok >= 2 and refused > 0, statuses  # one in flight and one queued at least; the burst overflows
    for response in responses:
        if response.status_code == 200:
            assert len(response.json()["predictions"]) == 1000
        else:  # HAProxy's own answer, in the API's error shape, with Retry-After
            assert response.headers["retry-after"] == "1"
            assert "refused by the proxy" in response.json()["detail"]
    # Fast: a refusal does not wait for the worker (queue full at arrival), an answer waits its turn.
    refused_seconds = statistics.median(t for r, t in timed if r.status_code == 503)
    answered_seconds = statistics.median(t for r, t in timed if r.status_code == 200)
    assert refused_seconds < answered_seconds, (refused_seconds, answered_seconds)
    assert live.status_code == 200  # health has its own backend: answered during the burst
    answered_after, refused_by_worker = worker_counts(worker_url)
    assert answered_after - answered_before == ok, refused_by_worker  # every refused request stayed in HAProxy
    assert not refused_by_worker


def test_proxy_refuses_a_declared_oversized_body_at_the_headers_and_answers_503_without_workers(
    tmp_path: Path,
) -> None:
    """No worker is listening: predictions get HAProxy's JSON 503, and a declared 3 MB body gets 413
    before a byte of it is sent (the proxy does not wait for the body)."""
    port = free_port()
    env = {**os.environ, "TRIPCAST_PROXY_BIND": f"127.0.0.1:{port}", "TRIPCAST_WORKER_1": f"127.0.0.1:{free_port()}"}
    log = tmp_path / "haproxy.log"
    with log.open("w") as out:
        proxy = subprocess.Popen([haproxy_binary(), "-db", "-f", str(CONFIG)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proxy.poll() is None, log.read_text()
            try:
                refused = httpx.post(f"http://127.0.0.1:{port}/v1/predictions", json=TRIP, timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["detail"] == "server busy: request refused by the proxy"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b'"field":"body"' in answer
    finally:
        stop_process(proxy)

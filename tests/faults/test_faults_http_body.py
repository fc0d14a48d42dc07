"""An oversized chunked request body against a real ``tripcast serve``: refused while it streams in.

A chunked upload has no Content-Length, so the limit can only be enforced by counting the bytes as they
arrive. The promise: a 51 MB chunked batch gets a 413 as soon as the limit is crossed, the server's memory
does not grow with the body (RSS and peak RSS measured in /proc/PID/status), the connection is closed,
and ``/health/live`` keeps answering promptly while the bytes stream in.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.serve_process import free_port, stop_process, wait_until_serving

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
BODY_BYTES = 51 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
#: What the server may grow by while it refuses the body (the brief's bound).
MAX_RSS_GROWTH_KB = 10 * 1024
#: /health/live must answer within this while the upload streams (the old code parsed the body for seconds).
MAX_LIVE_SECONDS = 0.5


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid``, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """``tripcast serve`` (one worker, the real HTTP protocol) on a free port: (port, pid). No model is
    needed: the body limit applies before any endpoint, and an empty registry keeps start-up fast. One
    server for the module: each test uses its own connections."""
    tmp_path = tmp_path_factory.mktemp("serve")
    tripcast = Path(sys.executable).with_name("tripcast")
    if not tripcast.exists():
        pytest.fail(f"{tripcast} is missing: install the project (uv sync)")
    port = free_port()
    env = {
        # Without a multiprocess metrics directory an earlier test's import (Feast) may have left behind.
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "TRIPCAST_DATA_DIR": str(tmp_path / "data"),
        "TRIPCAST_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        # Only the body limit is under test: shedding on a loaded shared machine must not refuse first.
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(tripcast), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Ready when the process we started owns the port and answers (not a stray server on it).
        def live() -> bool:
            return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200

        wait_until_serving(process, port, live, log=tmp_path / "serve.log", seconds=120)
        yield port, process.pid
    finally:
        stop_process(process)
        log.close()


def batch_chunks(total: int) -> Iterator[bytes]:
    """A valid JSON batch of about ``total`` bytes, in chunks of :data:`CHUNK_BYTES`."""
    trip = json.dumps(TRIP).encode() + b","
    piece = trip * (CHUNK_BYTES // len(trip))
    yield b'{"trips": ['
    sent = 0
    while sent + len(piece) < total:
        yield piece
        sent += len(piece)
    yield trip[:-1] + b"]}"


def chunked_upload(port: int) -> tuple[bytes, int]:
    """POST the 51 MB batch with ``Transfer-Encoding: chunked``; stop sending once an answer arrives.

    Returns (everything the server sent until it closed the connection, bytes of body sent).
    """
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for chunk in batch_chunks(BODY_BYTES):
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered: a real client stops uploading here
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
        return answer, sent


def test_chunked_51mb_batch_is_refused_while_streaming_without_memory_growth_or_stalling_liveness(
    server: tuple[int, int],
) -> None:
    port, pid = server
    base = f"http://127.0.0.1:{port}"
    # Warm up the request path (lazy imports, first allocations) before the baseline.
    for _ in range(3):
        httpx.post(f"{base}/v1/predictions", json={"trips": [TRIP]}, timeout=30)
    before = memory_kb(pid)

    live_seconds: list[float] = []
    uploading = threading.Event()
    uploading.set()

    def probe_liveness() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while uploading.is_set():
                started = time.perf_counter()
                assert client.get("/health/live").status_code == 200
                live_seconds.append(time.perf_counter() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe_liveness)
    prober.start()
    try:
        answer, sent = chunked_upload(port)
        time.sleep(0.3)  # let the server settle what it was doing with the body
    finally:
        uploading.clear()
        prober.join(60)
    after = memory_kb(pid)

    head = answer.split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"exceeds" in answer  # the body says what the limit is
    assert sent < 16 * 1024 * 1024, f"the server answered only after {sent:,} bytes"
    growth = {name: after[name] - before[name] for name in before}
    assert growth["VmRSS"] < MAX_RSS_GROWTH_KB and growth["VmHWM"] < MAX_RSS_GROWTH_KB, (before, after)
    assert live_seconds, "the liveness probe never answered"
    assert max(live_seconds) < MAX_LIVE_SECONDS, sorted(live_seconds)[-5:]
    # The server is still healthy afterwards, on a new connection.
    assert httpx.get(f"{base}/health/live", timeout=10).status_code == 200


def test_declared_oversized_body_is_refused_before_a_byte_of_it_is_read(server: tuple[int, int]) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % BODY_BYTES
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            assert data, answer
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in answer.lower()

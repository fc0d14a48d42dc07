"""The shedding HTTP protocol over real sockets: refusals before ASGI, keep-alive intact, bodies skipped.

A uvicorn server with ``SheddingHttpToolsProtocol`` runs on 127.0.0.1 in a thread; raw sockets check the
bytes on the wire (one connection carries a refused request with a body and then an admitted one).
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support.serving_fakes import FakeRegistry
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.api.protocol import LINGER_SECONDS, SheddingHttpToolsProtocol, find_shedding_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.mlops.serving.real_time.load_shedding import LoadShedder, SheddingPolicy
from tripcast.settings import Settings

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


def request_bytes(body: dict[str, Any], *, close: bool = False) -> bytes:
    raw = json.dumps(body).encode()
    head = (
        "POST /v1/predictions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
    )
    return head.encode() + raw


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response head"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, rest[:length]


@pytest.fixture()
def served() -> Iterator[tuple[FastAPI, int]]:
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    settings = Settings(max_in_flight=1, max_burst_in_flight=0, max_loop_lag_ms=0, max_loop_busy=0)
    app = create_app(serving_parts(settings, registry, cache=None, poll=False))
    with serve_in_thread(app, http=SheddingHttpToolsProtocol) as port:
        yield app, port


def test_refused_request_is_answered_before_asgi_and_the_connection_stays_usable(
    served: tuple[FastAPI, int],
) -> None:
    app, port = served
    shedder: LoadShedder = app.state.load_shedder
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        shedder.in_flight = 1  # as if one request were being answered: the bound of 1 is reached
        sock.sendall(request_bytes(TRIP))
        status, headers, body = read_response(sock)
        assert status == 503 and headers["retry-after"] == "1"
        assert "1 requests in flight (max 1)" in json.loads(body)["detail"]
        assert headers.get("connection") != "close"

        shedder.in_flight = 0
        # Same connection: the refused request's body was skipped, so this one parses from its first byte.
        sock.sendall(request_bytes(TRIP))
        status, _, body = read_response(sock)
        assert status == 200, body
        assert json.loads(body)["model_version"] == "1"
    assert shedder.in_flight == 0  # the admitted request was counted at its headers and released once

    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'tripcast_http_requests_rejected_total{reason="overload"} 1.0' in metrics
    assert 'tripcast_http_requests_total{method="POST",route="/v1/predictions",status="503"} 1.0' in metrics


def test_refusal_honours_connection_close(served: tuple[FastAPI, int]) -> None:
    app, port = served
    app.state.load_shedder.in_flight = 1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_bytes(TRIP, close=True))
        status, headers, _ = read_response(sock)
        assert status == 503 and headers["connection"] == "close"
        assert sock.recv(1) == b""  # the server closed its end
    app.state.load_shedder.in_flight = 0


def test_health_and_unguarded_paths_are_never_refused_by_the_protocol(served: tuple[FastAPI, int]) -> None:
    app, port = served
    app.state.load_shedder.in_flight = 1
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    finally:
        app.state.load_shedder.in_flight = 0


def test_the_shedder_is_found_through_uvicorn_wrappers() -> None:
    app = FastAPI()
    app.state.load_shedder = LoadShedder(SheddingPolicy(4))

    class Wrapper:
        def __init__(self, inner: Any) -> None:
            self.app = inner

    assert find_shedding_app(Wrapper(Wrapper(app))) is app
    assert find_shedding_app(Wrapper(FastAPI())) is None


def test_chunked_body_over_the_limit_gets_413_mid_stream_and_the_connection_closes(
    served: tuple[FastAPI, int],
) -> None:
    app, port = served
    limit = app.state.load_shedder.max_body_bytes
    chunk = b" " * 65536  # JSON whitespace: a body the endpoint would otherwise buffer and parse
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/predictions HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while not select.select([sock], [], [], 0.01)[0]:  # until the server answers
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            assert sent < 20 * limit, "no answer although the body is far over the limit"
        status, headers, body = read_response(sock)
        assert status == 413 and headers["connection"] == "close"
        assert f"exceeds {limit} bytes" in json.loads(body)["detail"]
        sock.settimeout(LINGER_SECONDS + 5)
        assert sock.recv(1) == b""  # the server shut its side: no second request on this connection
    deadline = time.monotonic() + 5  # the app's task sees the disconnect on the server's loop
    while app.state.load_shedder.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.state.load_shedder.in_flight == 0  # the cut-off request was released
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'tripcast_http_requests_rejected_total{reason="body_too_large"} 1.0' in metrics
    assert 'tripcast_http_requests_total{method="POST",route="/v1/predictions",status="413"} 1.0' in metrics


def test_declared_body_over_the_limit_gets_413_before_it_is_sent(served: tuple[FastAPI, int]) -> None:
    app, port = served
    limit = app.state.load_shedder.max_body_bytes
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/predictions HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % (limit + 1))
        status, headers, body = read_response(sock)  # not one byte of the body was sent
        assert status == 413 and headers["connection"] == "close"
        assert f"request body of {limit + 1} bytes exceeds {limit} bytes" in json.loads(body)["detail"]

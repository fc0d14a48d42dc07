"""Faults in the API-key store: when keys cannot be checked the API refuses (503), it never lets callers in.

The key database is a real PostgreSQL reached through a TCP proxy process this test owns; killing the
proxy (SIGKILL) is the database dropping away mid-service, restarting it is the database coming back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from support.serving_fakes import FakeRegistry
from support.serving_settings import functional_settings
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore
from tripcast.security.roles import Role

ENV_TOKEN = "fault-test-admin-token-0123456789"
SECRET = "fault-test-api-key-secret-0123"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}

PROXY = r"""
import socket, sys, threading
listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port)); server.listen(64)
print("ready", flush=True)
def pipe(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target_port))
    for a, b in ((client, upstream), (upstream, client)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def tcp_proxy(listen_port: int, target_port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", PROXY, str(listen_port), str(target_port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(5)


def served_app(auth_url: str, **overrides: object) -> Iterator[str]:
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    settings = functional_settings(
        env="staging", api_token=ENV_TOKEN, api_key_secret=SECRET, auth_url=auth_url, **overrides
    )
    with serve_in_thread(create_app(serving_parts(settings, registry, cache=None, poll=False))) as port:
        yield f"http://127.0.0.1:{port}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_key_database_dropping_mid_service_fails_closed_with_503_and_recovers(postgres_url: str) -> None:
    direct = SqlApiKeyStore(postgres_url, KeyHasher(SECRET.encode()))
    operator = direct.create("ops", Role.OPERATOR, actor="faults")
    predictor = direct.create("svc", Role.PREDICTOR, actor="faults")
    viewer = direct.create("viewer", Role.VIEWER, actor="faults")
    proxy_port = free_port()
    through_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy_port}")
    assert through_proxy != postgres_url
    with tcp_proxy(proxy_port, 5432) as proxy:
        # TTL 0: every request asks the database, so the fault is met on the request path.
        for base in served_app(through_proxy, api_key_cache_seconds=0):
            with httpx.Client(base_url=base, timeout=10) as client:
                assert client.post("/v1/models/reload", headers=bearer(operator)).status_code == 200
                assert client.post("/v1/predictions", json=TRIP, headers=bearer(predictor)).status_code == 200

                os.kill(proxy.pid, signal.SIGKILL)
                proxy.wait(5)
                for token, path in ((operator, "/v1/models/reload"), (predictor, "/v1/predictions")):
                    started = time.monotonic()
                    refused = client.post(path, json=TRIP, headers=bearer(token))
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["retry-after"] and time.monotonic() - started < 5
                    assert "Traceback" not in refused.text and "postgresql" not in refused.text.lower()
                # A viewer key cannot be checked either: refused, not downgraded to anonymous.
                assert client.post("/v1/predictions", json=TRIP, headers=bearer(viewer)).status_code == 503
                assert client.post("/v1/predictions", json=TRIP).status_code == 401  # no key: still 401
                # The environment's admin token needs no database: operators can still act.
                assert client.post("/v1/models/reload", headers=bearer(ENV_TOKEN)).status_code == 200
                assert client.get("/health/live").status_code == 200

                with tcp_proxy(proxy_port, 5432):
                    assert client.post("/v1/models/reload", headers=bearer(operator)).status_code == 200
    direct.close()


def test_key_database_down_from_the_start_refuses_keys_but_serves(tmp_path: object) -> None:
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/auth"
    for base in served_app(nowhere):
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/health/live").status_code == 200
            refused = client.post("/v1/models/reload", headers=bearer("tc_" + "x" * 43))
            assert refused.status_code == 503 and refused.headers["retry-after"]
            assert client.post("/v1/models/reload", headers=bearer(ENV_TOKEN)).status_code == 200

"""Helpers for data-engineering integration tests: canonical trip frames, a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.trip_frames import build_trips, january_canonical, raw_trip  # noqa: F401 - fixtures


class Recorder:
    """A local HTTP server's memory: requests received and the status codes still to answer with."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.routes: dict[str, tuple[int, bytes, str]] = {}
        self.lock = threading.Lock()


@pytest.fixture()
def http_server() -> Iterator[tuple[str, Recorder]]:
    """A real HTTP server on 127.0.0.1:<free port> in a thread.

    POST bodies are recorded (JSON-decoded when possible); each request pops the next queued
    status from ``recorder.statuses`` (200 when empty). GET serves ``recorder.routes[path]``.
    """
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def _status(self) -> int:
            with recorder.lock:
                return recorder.statuses.pop(0) if recorder.statuses else 200

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = self._status()
            try:
                payload = json.loads(body)
            except ValueError:
                payload = body.decode(errors="replace")
            with recorder.lock:
                recorder.requests.append({"path": self.path, "status": status, "body": payload})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        do_PUT = do_POST  # noqa: N815 - the Prometheus Pushgateway protocol uses PUT

        def do_GET(self) -> None:
            status = self._status()
            with recorder.lock:
                recorder.requests.append({"path": self.path, "status": status, "body": None})
            code, body, ctype = recorder.routes.get(self.path, (404, b"not found", "text/plain"))
            if status != 200:
                code, body = status, b'{"error": "injected"}'
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

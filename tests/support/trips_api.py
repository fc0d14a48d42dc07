"""A real paginated trips API on 127.0.0.1 (a thread), for REST ingestion tests.

``GET /v1/trips?month=YYYY-MM&page=N&page_size=K`` answers ``{"data": [...], "next_page": N+1 | null}`` from
the rows given; ``statuses`` queues answers to give instead (e.g. 503 then 200) to test retries.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class TripsApi:
    """The API's state: rows per month, queued statuses, and the requests received."""

    def __init__(self, rows_by_month: dict[str, list[dict[str, Any]]]) -> None:
        self.rows_by_month = rows_by_month
        self.statuses: list[int] = []
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def answer(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append(path)
            status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return status, b'{"error": "injected"}'
        query = parse_qs(urlsplit(path).query)
        rows = self.rows_by_month.get(query.get("month", [""])[0], [])
        page, size = int(query.get("page", ["1"])[0]), int(query.get("page_size", ["1000"])[0])
        chunk = rows[(page - 1) * size : page * size]
        more = page * size < len(rows)
        return 200, json.dumps({"data": chunk, "next_page": page + 1 if more else None}).encode()


@contextmanager
def serve_trips_api(api: TripsApi) -> Iterator[str]:
    """Serve ``api``; yield its ``/v1/trips`` URL; stop the server afterwards."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def do_GET(self) -> None:
            status, body = api.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/trips"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

"""uvicorn's httptools protocol, refusing shed requests as soon as their headers are parsed.

Under overload most requests are refused, so the cost of a refusal decides how much overload a server
survives: every refused request still costs the server CPU, and once refusals alone fill the core,
requests queue in socket buffers where no policy can see them. Through ASGI a refusal costs uvicorn's
scope, request cycle and task, the middleware stack and two socket writes (status line and headers,
then body). Here it costs one parse and one write of a prepared answer, and the request body is
skipped as it arrives. The decision is the app's own :class:`LoadShedder` (on ``app.state``),
so both layers share one in-flight count, lag probe and set of counters.

``tripcast serve`` runs uvicorn with ``http="tripcast.api.protocol:SheddingHttpToolsProtocol"``. The
overload middleware stays in the app, so any other server (or a test client) is still protected.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tripcast.mlops.serving.real_time.load_shedding import ADMITTED_SCOPE_KEY, LoadShedder, Refusal

#: How deep to look through uvicorn's wrappers (proxy headers, message logger) for the app's state.
_MAX_WRAPPERS = 8


class _Refused:
    """Stands in for uvicorn's request cycle after a refusal: answered, so the body is skipped."""

    response_complete = True
    disconnected = False

    def __init__(self) -> None:
        self.message_event = asyncio.Event()


def find_shedding_app(app: Any) -> Any:
    """The first app (through ``.app`` wrappers) whose ``state`` holds a load shedder, or None."""
    for _ in range(_MAX_WRAPPERS):
        if app is None:
            return None
        if isinstance(getattr(getattr(app, "state", None), "load_shedder", None), LoadShedder):
            return app
        app = getattr(app, "app", None)
    return None


class SheddingHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a guarded request with 503 + ``Retry-After`` before any ASGI work when the app's shedder
    says so; everything else is uvicorn's ``httptools`` protocol unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = find_shedding_app(self.app)
        self._shedder: LoadShedder | None = app.state.load_shedder if app is not None else None
        self._metrics = getattr(app.state, "metrics", None) if app is not None else None
        # Route templates for metric labels, never raw paths (cardinality).
        self._routes = frozenset(getattr(route, "path", "") for route in getattr(app, "routes", ()))
        self._refused = _Refused()

    def on_headers_complete(self) -> None:
        shedder = self._shedder
        previous = self.cycle
        # Pipelined requests must be answered in order: only refuse when nothing is still being answered.
        if shedder is not None and (previous is None or previous.response_complete):
            path = httptools.parse_url(self.url).path.decode("ascii", "replace")
            if shedder.guards(path):
                refusal = shedder.refusal()
                if refusal is not None:
                    self._refuse(refusal, path)
                    return
                # Counted from now, not from when its task first runs: a whole loop iteration of requests
                # is admitted before any of their tasks start, and the bound must hold across them.
                shedder.in_flight += 1
                self.scope[ADMITTED_SCOPE_KEY] = True  # type: ignore[literal-required]
        super().on_headers_complete()

    def _refuse(self, refusal: Refusal, path: str) -> None:
        started = time.perf_counter()
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        body = json.dumps({"detail": refusal.detail, "errors": []}).encode()
        content = [STATUS_LINE[503]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\ncontent-length: ",
                str(len(body)).encode("ascii"),
                b"\r\nretry-after: 1\r\n",
                b"" if keep_alive else b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        # The parser still delivers this request's body: an answered cycle makes on_body skip it.
        self.cycle = self._refused  # type: ignore[assignment]
        self.transport.write(b"".join(content))
        metrics = self._metrics
        if metrics is not None:
            route = path if path in self._routes else "unmatched"
            labels = (self.parser.get_method().decode("ascii", "replace"), route, "503")
            metrics.requests.labels(*labels).inc()
            metrics.request_latency.labels(*labels).observe(time.perf_counter() - started)
        if not keep_alive:
            self.transport.close()
            return
        self.on_response_complete()

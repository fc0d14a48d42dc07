"""uvicorn's httptools protocol, refusing shed requests as soon as their headers are parsed.

Under overload most requests are refused, so the cost of a refusal decides how much overload a server
survives: every refused request still costs the server CPU, and once refusals alone fill the core,
requests queue in socket buffers where no policy can see them. Through ASGI a refusal costs uvicorn's
scope, request cycle and task, the middleware stack and two socket writes (status line and headers,
then body). Here it costs one parse and one write of a prepared answer, and the request body is
skipped as it arrives. The decision is the app's own :class:`LoadShedder` (on ``app.state``),
so both layers share one in-flight count, lag probe and set of counters.

The request body limit (``LoadShedder.max_body_bytes``) is enforced here too, on every path: a declared
Content-Length over the limit is refused at the headers, and a chunked body is counted as it arrives and
refused the moment it crosses the limit, before uvicorn buffers it for the app. After a 413 the connection
is closed the way nginx does it ("lingering close"): the answer is written, the write side shut, and
whatever the client still sends is dropped unparsed for up to :data:`LINGER_SECONDS`, so it reads the 413
instead of a connection reset.

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

from tripcast.bootstrap.serving import (
    ADMITTED_SCOPE_KEY,
    BODY_TOO_LARGE_SCOPE_KEY,
    LoadShedder,
    Refusal,
    body_too_large,
)

#: How deep to look through uvicorn's wrappers (proxy headers, message logger) for the app's state.
_MAX_WRAPPERS = 8
#: How long a connection whose body was refused keeps draining (and dropping) what the client still sends.
LINGER_SECONDS = 2.0


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
        self._max_body = self._shedder.max_body_bytes if self._shedder is not None else None
        self._body_bytes = 0
        self._discarding = False
        self._linger: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return  # after a 413: drained, never parsed or buffered
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        super().connection_lost(exc)

    def on_body(self, body: bytes) -> None:
        if self._discarding:
            return
        limit = self._max_body
        if limit is not None and not self.cycle.response_complete:  # not a skipped body (503) either
            self._body_bytes += len(body)
            if self._body_bytes > limit:
                self._refuse_streamed_body(limit)
                return
        super().on_body(body)

    def on_headers_complete(self) -> None:
        if self._discarding:
            return  # a request pipelined behind a refused body: the connection is closing
        shedder = self._shedder
        previous = self.cycle
        self._body_bytes = 0
        if self._max_body is not None:
            declared = self._declared_length()
            if declared is not None and declared > self._max_body:
                self._refuse_declared_body(self._max_body, declared, previous)
                return
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
        # The parser still delivers this request's body: an answered cycle makes on_body skip it.
        self.cycle = self._refused  # type: ignore[assignment]
        body = json.dumps({"detail": refusal.detail, "errors": []}).encode()
        extra = b"retry-after: 1\r\n" + (b"" if keep_alive else b"connection: close\r\n")
        self.transport.write(self._answer(503, body, extra))
        self._count(path, "503", started)
        if not keep_alive:
            self.transport.close()
            return
        self.on_response_complete()

    def _answer(self, status: int, body: bytes, extra_headers: bytes) -> bytes:
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\ncontent-length: ",
                str(len(body)).encode("ascii"),
                b"\r\n",
                extra_headers,
                b"\r\n",
                body,
            ]
        )
        return b"".join(content)

    def _count(self, path: str, status: str, started: float) -> None:
        metrics = self._metrics
        if metrics is not None:
            route = path if path in self._routes else "unmatched"
            labels = (self.parser.get_method().decode("ascii", "replace"), route, status)
            metrics.requests.labels(*labels).inc()
            metrics.request_latency.labels(*labels).observe(time.perf_counter() - started)

    def _declared_length(self) -> int | None:
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None  # the parser refuses a malformed length itself
        return None

    def _refuse_declared_body(self, limit: int, declared: int, previous: Any) -> None:
        """A Content-Length over the limit: 413 before the body is read; no ASGI task exists for it."""
        started = time.perf_counter()
        path = httptools.parse_url(self.url).path.decode("ascii", "replace")
        if self._shedder is not None:
            self._shedder.count_refusal("body_too_large")
        if previous is not None and not previous.response_complete:
            self._close_lingering()  # a pipelined response is still being written: no answer can follow it
            return
        self.cycle = self._refused  # type: ignore[assignment]
        body = json.dumps(body_too_large(limit, declared)).encode()
        self.transport.write(self._answer(413, body, b"connection: close\r\n"))
        self._count(path, "413", started)
        self._close_lingering()

    def _refuse_streamed_body(self, limit: int) -> None:
        """A (chunked) body just crossed the limit: 413 now, and the app sees a disconnect.

        The app's task is already running (it was started at the headers); the scope mark lets the
        overload middleware count this 413 and drop whatever the app answers to the disconnect.
        """
        cycle = self.cycle
        answerable = not self.pipeline and not cycle.response_started
        cycle.scope[BODY_TOO_LARGE_SCOPE_KEY] = True  # type: ignore[literal-required]
        cycle.disconnected = True
        cycle.message_event.set()
        if answerable:
            body = json.dumps(body_too_large(limit)).encode()
            self.transport.write(self._answer(413, body, b"connection: close\r\n"))
        self._close_lingering()

    def _close_lingering(self) -> None:
        """Close after a refused body without resetting the connection under the client's unread answer."""
        self._discarding = True
        self._unset_keepalive_if_required()
        self.flow.resume_reading()  # keep draining a paused body so the client is not stuck sending
        transport = self.transport
        if transport.can_write_eof():
            transport.write_eof()  # the client reads the answer, then EOF
        self._linger = self.loop.call_later(LINGER_SECONDS, transport.close)

    def eof_received(self) -> None:
        # The client finished (or gave up) after a refused body: nothing left to drain.
        if self._discarding:
            self.transport.close()

"""ASGI middleware: request metrics, and overload protection (in-flight bound, event-loop lag budget,
body bound, timeout).

Both are plain ASGI callables rather than ``BaseHTTPMiddleware`` so they add microseconds, not a task
per request, and so the timeout can still answer when the endpoint has not started its response.
Refusals happen before the body is read, so a shed request costs only its parsing and a tiny answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tripcast.bootstrap.serving import (
    ADMITTED_SCOPE_KEY,
    BODY_TOO_LARGE_SCOPE_KEY,
    LoadShedder,
    LoopLagMonitor,
    ServingMetrics,
    SheddingPolicy,
    body_too_large,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Default event-loop lag budget: an admitted request waits about this long for the loop at most, which
#: keeps accepted p99 well under 50 ms together with the in-flight bound (performance/README.md).
DEFAULT_MAX_LOOP_LAG_SECONDS = 0.010


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Answer with a JSON body straight from middleware."""
    raw = json.dumps(body).encode()
    header_list = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    header_list += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})


class MetricsMiddleware:
    """Counts requests and observes latency by method, route template and status.

    With ``exemplar`` (tracing on), a sampled request's latency carries its trace id as an exemplar, so a
    latency bucket leads to a trace of a request in it.
    """

    def __init__(
        self, app: ASGIApp, metrics: ServingMetrics, exemplar: Callable[[], dict[str, str] | None] | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.exemplar = exemplar

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # Route templates, never raw paths: a scanner must not explode label cardinality.
            label = getattr(route, "path", None) or "unmatched"
            labels = (scope.get("method", ""), label, str(status))
            self.metrics.requests.labels(*labels).inc()
            exemplar = self.exemplar() if self.exemplar is not None else None
            self.metrics.request_latency.labels(*labels).observe(time.perf_counter() - started, exemplar)


class OverloadMiddleware:
    """Protects ``/v1/`` routes: refuse at once beyond ``max_in_flight`` or when the event loop lags more
    than ``max_loop_lag_seconds`` (``None``: no lag check), bound body size, time out.

    Health and metrics stay outside the bounds so probes and scrapes still answer under overload. The
    decisions live in a :class:`LoadShedder` (``shedder``, built from the bounds when not given), which
    :mod:`tripcast.api.protocol` also consults to refuse before the request reaches ASGI at all.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        timeout_seconds: float,
        max_body_bytes: int,
        metrics: ServingMetrics | None = None,
        prefix: str = "/v1/",
        untimed_prefixes: tuple[str, ...] = ("/v1/models/",),
        max_loop_lag_seconds: float | None = DEFAULT_MAX_LOOP_LAG_SECONDS,
        lag_monitor: LoopLagMonitor | None = None,
        shedder: LoadShedder | None = None,
    ) -> None:
        self.app = app
        self.shedder = shedder or LoadShedder(
            SheddingPolicy(max_in_flight, max_loop_lag_seconds),
            lag_monitor=lag_monitor,
            prefix=prefix,
            on_refusal=refusal_counter(metrics),
        )
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes
        if self.shedder.max_body_bytes is None:
            # The HTTP protocol reads the limit from the shedder: one limit for both layers.
            self.shedder.max_body_bytes = max_body_bytes
        self.metrics = metrics
        # Model reloads may legitimately take longer than a prediction; cutting them off would only hide
        # a load that still completes in its thread.
        self.untimed_prefixes = untimed_prefixes

    @property
    def in_flight(self) -> int:
        return self.shedder.in_flight

    @in_flight.setter
    def in_flight(self, value: int) -> None:
        self.shedder.in_flight = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shedder = self.shedder
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not shedder.guards(str(scope.get("path", ""))):
            await self._bounded(scope, receive, send, None)
            return
        if not scope.get(ADMITTED_SCOPE_KEY):
            refusal = shedder.refusal()
            if refusal is not None:
                await send_json(send, 503, {"detail": refusal.detail, "errors": []}, RETRY_AFTER)
                return
            shedder.in_flight += 1
        # else: the HTTP protocol admitted it and already counts it in flight
        try:
            await self._admitted(scope, receive, send)
        finally:
            shedder.in_flight -= 1

    async def _admitted(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.metrics is not None:
            self.metrics.in_flight.inc()
        timeout = None if str(scope.get("path", "")).startswith(self.untimed_prefixes) else self.timeout_seconds
        try:
            await self._bounded(scope, receive, send, timeout)
        finally:
            if self.metrics is not None:
                self.metrics.in_flight.dec()

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, timeout: float | None) -> None:
        """Run the app with the body bound and, when ``timeout`` is set, the time bound."""
        limit = self.max_body_bytes
        declared, chunked = _body_framing(scope)
        if declared is not None and declared > limit:
            self.shedder.count_refusal("body_too_large")
            await send_json(send, 413, body_too_large(limit, declared), CLOSE)
            return
        # A declared length is enforced by the server's framing; only a chunked body must be counted.
        body = _BodyLimit(scope, receive, send, limit) if chunked else None
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(timeout):
                if body is None:
                    await self.app(scope, receive, tracking_send)
                else:
                    await self.app(scope, body.receive, body.send)
        except TimeoutError:
            self.shedder.count_refusal("timeout")
            if started or (body is not None and body.started):
                raise
            await send_json(
                send,
                503,
                {"detail": f"request took longer than {self.timeout_seconds:g} s", "errors": []},
                RETRY_AFTER,
            )
            return
        if body is not None and body.exceeded and not body.started:
            self.shedder.count_refusal("body_too_large")
            # Under SheddingHttpToolsProtocol these bytes were already written and the connection is
            # closing; this send only reaches the metrics middleware.
            await send_json(send, 413, body_too_large(limit), CLOSE)


class _BodyLimit:
    """Counts a streamed (chunked) request body as the app receives it and cuts it off past ``limit``.

    Past the limit the app sees ``http.disconnect`` (so it stops reading and buffers nothing more) and
    whatever it answers to that is dropped: the caller answers 413 instead. The HTTP protocol may have
    cut the body off first (it marks the scope); that counts the same.
    """

    __slots__ = ("_receive", "_send", "exceeded", "limit", "received", "scope", "started")

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def receive(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        elif message["type"] == "http.disconnect" and self.scope.get(BODY_TOO_LARGE_SCOPE_KEY):
            self.exceeded = True
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.started:
            return  # the app's answer to the cut-off body; the 413 replaces it
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def refusal_counter(metrics: ServingMetrics | None) -> Callable[[str], None] | None:
    """``reason -> None`` counting refusals in ``metrics.rejected`` (None without metrics)."""
    if metrics is None:
        return None
    rejected = metrics.rejected
    children: dict[str, Any] = {}  # labels() takes a lock per call; reasons are a handful

    def count(reason: str) -> None:
        child = children.get(reason)
        if child is None:
            child = children[reason] = rejected.labels(reason)
        child.inc()

    return count


RETRY_AFTER = {"Retry-After": "1"}
#: A refused body may still be streaming in: the connection cannot carry another request reliably.
CLOSE = {"Connection": "close"}


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length or None, whether the body is chunked), from one pass over the headers."""
    declared: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return declared, chunked

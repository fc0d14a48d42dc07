"""Traces with the OpenTelemetry SDK: OTLP over HTTP, sampled by ratio, off unless an endpoint is set.

:func:`configure_tracing` installs the process's tracer provider once (the composition root calls it with the
settings): ``ParentBased(TraceIdRatioBased(ratio))``, so a caller that sampled a request (its ``traceparent``
says so) always gets the whole trace, and new traces are kept at ``ratio``. Spans leave through a
:class:`~opentelemetry.sdk.trace.export.BatchSpanProcessor`: a background thread exports them in batches with
a short timeout, and a full queue drops spans. A collector that is down therefore costs log lines, never a
failed or slowed request.

:class:`OpenTelemetryTracer` is the adapter of the core's :class:`~tripcast.core.ports.tracing.Tracer` port;
:func:`instrument_fastapi` adds the HTTP server spans (:class:`ServerSpans`: health probes and ``/metrics``
excluded, sampling decided at the edge, so a request the ratio leaves out costs no span and Tripcast's own
spans below it one check). performance/tracing/README.md has the figures.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tripcast.core.ports.tracing import AttributeValue, SpanHandle

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

#: The OTLP/HTTP path of traces, appended to a base endpoint (``http://collector:4318``).
TRACES_PATH = "/v1/traces"
#: Seconds one export may take before the batch is dropped (exports run off the request path).
EXPORT_TIMEOUT_SECONDS = 2.0
#: Paths (prefixes) without server spans: probes and scrapes.
EXCLUDED_PATHS = ("/health/", "/metrics")
#: Spans queued for export before new ones are dropped (the SDK's 2,048 is under a second of spans at 100 %
#: sampling and 1,000 predictions/s, four spans each).
QUEUE_SPANS = 16_384
#: Spans per OTLP request (the SDK's 512): fewer HTTP round trips, each one's fixed cost on the server's CPU.
EXPORT_BATCH_SPANS = 2_048
#: The instrumentation scope of Tripcast's own spans.
SCOPE = "tripcast"

_provider: TracerProvider | None = None


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of ``endpoint`` (a base URL, or already the full ``/v1/traces`` URL)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def configure_tracing(
    endpoint: str | None, *, sampling_ratio: float, service_name: str, environment: str = "local"
) -> bool:
    """Install the tracer provider exporting to ``endpoint`` (None: tracing stays off); whether tracing is on.

    Idempotent: the first call in a process wins (OpenTelemetry's global provider is set once).
    """
    global _provider
    if endpoint is None:
        return _provider is not None
    if _provider is not None:
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create({"service.name": service_name, "deployment.environment.name": environment})
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(sampling_ratio)), id_generator=EdgeIdGenerator()
    )
    exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=EXPORT_TIMEOUT_SECONDS)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            export_timeout_millis=EXPORT_TIMEOUT_SECONDS * 1000,
            # OTEL_BSP_* variables still win: an explicit argument would override them.
            max_queue_size=None if "OTEL_BSP_MAX_QUEUE_SIZE" in os.environ else QUEUE_SPANS,
            max_export_batch_size=None if "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" in os.environ else EXPORT_BATCH_SPANS,
        )
    )
    trace.set_tracer_provider(provider)
    _provider = provider
    log.info("tracing on: %.0f %% of new traces to %s", sampling_ratio * 100, traces_url(endpoint))
    return True


def tracing_enabled() -> bool:
    """Whether :func:`configure_tracing` installed a provider in this process."""
    return _provider is not None


def flush_traces(timeout_millis: int = 5_000) -> bool:
    """Export the spans still queued (a CLI command about to exit; a test); False when they did not all leave."""
    return _provider.force_flush(timeout_millis) if _provider is not None else True


def trace_exemplar() -> dict[str, str] | None:
    """The current span's trace id as a Prometheus exemplar's labels; None outside a sampled trace (an exemplar
    must lead to a trace that was exported)."""
    context = trace.get_current_span().get_span_context()
    return {"trace_id": f"{context.trace_id:032x}"} if context.trace_flags.sampled else None


#: A non-sampled trace's work: no span at all (ParentBased would drop it anyway, after building one).
_UNSAMPLED: AbstractContextManager[SpanHandle] = nullcontext(trace.INVALID_SPAN)


class OpenTelemetryTracer:
    """The core's tracer port on OpenTelemetry: each span is a child of the current one (the request's)."""

    def __init__(self, scope: str = SCOPE, provider: trace.TracerProvider | None = None) -> None:
        # ``provider``: a test's own (the process's global one is set once); default the global one.
        self._tracer = trace.get_tracer(scope, tracer_provider=provider)

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> AbstractContextManager[SpanHandle]:
        """A span around the ``with`` block; an exception escaping it is recorded on the span and re-raised."""
        current = trace.get_current_span()
        if not current.is_recording() and current.get_span_context().is_valid:
            return _UNSAMPLED  # inside a trace the sampler left out
        return _CurrentSpan(self._tracer.start_span(name, attributes=attributes))


class _CurrentSpan:
    """``start_as_current_span``'s work without its layers (a generator context manager, ``use_span``): the span
    is current inside the block, records an escaping exception, and ends. A third of a span's cost, saved on
    every sampled prediction's inner spans (performance/tracing/README.md)."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self._token: object = None

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]
        if error is not None:
            self._span.record_exception(error)
            self._span.set_status(trace.Status(trace.StatusCode.ERROR, f"{kind.__name__ if kind else ''}: {error}"))
        self._span.end()


#: The trace id :class:`ServerSpans` chose (and sampled) for the request whose server span it starts.
_EDGE_TRACE_ID: ContextVar[int | None] = ContextVar("tripcast_edge_trace_id", default=None)


class EdgeIdGenerator(RandomIdGenerator):
    """Random ids, except the server span's trace id, which :class:`ServerSpans` already drew (and sampled)."""

    def generate_trace_id(self) -> int:
        chosen = _EDGE_TRACE_ID.get()
        if chosen is not None:
            _EDGE_TRACE_ID.set(None)  # one root span per request takes it
            return chosen
        return super().generate_trace_id()


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
_PROPAGATOR = TraceContextTextMapPropagator()
#: Request headers of a caller's W3C trace context.
_CONTEXT_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}
#: Response headers worth a server span attribute (the ids a user quotes when something went wrong).
_ANSWER_HEADERS = {b"x-request-id": "tripcast.request_id", b"x-model-version": "tripcast.model.version"}


class ServerSpans:
    """ASGI: one SERVER span per sampled HTTP request, health probes and ``/metrics`` excluded.

    New requests are sampled here, at the edge, with ``TraceIdRatioBased``'s rule on a fresh trace id: a
    sampled one's span takes that id (:class:`EdgeIdGenerator`), an unsampled one runs under a non-sampled
    span context with it (its log lines still carry a trace id) and costs no span at all. A request with a
    ``traceparent`` continues the caller's trace and follows its decision (``ParentBased``).

    The span carries what identifies the request and nothing about the caller: method, route template,
    status code, the answer's ``X-Request-Id`` and ``X-Model-Version``; no client address, user agent, URL
    or query string (a query may hold a token). This replaces OpenTelemetry's ASGI middleware, which records
    all of those and costs several times more per sampled request (performance/tracing/README.md).
    """

    def __init__(self, app: ASGIApp, ratio: float, provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self.bound = TraceIdRatioBased.get_bound_for_rate(ratio)
        self.tracer = trace.get_tracer(SCOPE + ".http", tracer_provider=provider)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXCLUDED_PATHS):
            await self.app(scope, receive, send)
            return
        carrier = {_CONTEXT_HEADERS[name]: value.decode("latin-1") for name, value in scope["headers"]
                   if name in _CONTEXT_HEADERS}  # fmt: skip
        if carrier:
            await self._traced(scope, receive, send, _PROPAGATOR.extract(carrier))
            return
        trace_id = random.getrandbits(128) or 1
        if trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self.bound:
            token = _EDGE_TRACE_ID.set(trace_id)
            try:
                await self._traced(scope, receive, send, None)
            finally:
                _EDGE_TRACE_ID.reset(token)
            return
        unsampled = trace.SpanContext(trace_id, random.getrandbits(64) or 1, is_remote=False)
        attached = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(unsampled)))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(attached)

    async def _traced(self, scope: Scope, receive: Any, send: Any, parent: otel_context.Context | None) -> None:
        method = scope["method"]
        span = self.tracer.start_span(
            method, parent, trace.SpanKind.SERVER, {"http.request.method": method, "url.scheme": scope["scheme"]}
        )
        answer: list[MutableMapping[str, Any]] = []

        async def send_noting_the_answer(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.append(message)
            await send(message)

        with _CurrentSpan(span):
            try:
                await self.app(scope, receive, send_noting_the_answer)
            finally:
                _describe(span, scope, answer[0] if answer else None)


def _describe(span: trace.Span, scope: Scope, answer: MutableMapping[str, Any] | None) -> None:
    """Name the span after the matched route's template; add the status and the answer's ids."""
    template = getattr(scope.get("route"), "path", None)
    if template is not None:
        span.update_name(f"{scope['method']} {template}")
        span.set_attribute("http.route", template)
    if answer is None:
        return
    status = answer["status"]
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)
    for name, value in answer.get("headers", ()):
        key = _ANSWER_HEADERS.get(name.lower())
        if key is not None:
            span.set_attribute(key, value.decode("latin-1"))


def instrument_fastapi(app: FastAPI, sampling_ratio: float) -> None:
    """HTTP server spans for ``app`` (:class:`ServerSpans`, outside every middleware of the app)."""
    stack = app.build_middleware_stack

    def traced_stack() -> Any:
        return ServerSpans(stack(), sampling_ratio)

    app.build_middleware_stack = traced_stack  # type: ignore[method-assign]

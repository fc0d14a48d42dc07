"""Traces with the OpenTelemetry SDK: OTLP over HTTP, sampled by ratio, off unless an endpoint is set.

:func:`configure_tracing` installs the process's tracer provider once (the composition root calls it with the
settings): ``ParentBased(TraceIdRatioBased(ratio))``, so a caller that sampled a request (its ``traceparent``
says so) always gets the whole trace, and new traces are kept at ``ratio``. Spans leave through a
:class:`~opentelemetry.sdk.trace.export.BatchSpanProcessor`: a background thread exports them in batches with
a short timeout, and a full queue drops spans. A collector that is down therefore costs log lines, never a
failed or slowed request.

:class:`OpenTelemetryTracer` is the adapter of the core's :class:`~tripcast.core.ports.tracing.Tracer` port;
:func:`instrument_fastapi` adds the HTTP server spans (health probes and ``/metrics`` excluded).

Sampling is decided at the edge (:class:`EdgeSampler`), with the very rule ``TraceIdRatioBased`` applies to a
new trace's id: a request the ratio leaves out skips OpenTelemetry's ASGI middleware altogether (it parses the
request and builds a non-recording span even for requests it drops) and runs under a non-sampled context, so
Tripcast's own spans below it cost one check. performance/tracing/README.md has the figures.
"""

from __future__ import annotations

import logging
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

from tripcast.core.ports.tracing import AttributeValue, SpanHandle

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

#: The OTLP/HTTP path of traces, appended to a base endpoint (``http://collector:4318``).
TRACES_PATH = "/v1/traces"
#: Seconds one export may take before the batch is dropped (exports run off the request path).
EXPORT_TIMEOUT_SECONDS = 2.0
#: URLs (regular expressions searched in the full URL) without server spans: probes and scrapes.
EXCLUDED_URLS = "/health/,/metrics"
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
    provider.add_span_processor(BatchSpanProcessor(exporter, export_timeout_millis=EXPORT_TIMEOUT_SECONDS * 1000))
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
        return self._tracer.start_as_current_span(name, attributes=attributes)


#: The trace id :class:`EdgeSampler` chose for the request it hands to OpenTelemetry's middleware.
_EDGE_TRACE_ID: ContextVar[int | None] = ContextVar("tripcast_edge_trace_id", default=None)


class EdgeIdGenerator(RandomIdGenerator):
    """Random ids, except the server span's trace id, which :class:`EdgeSampler` already drew (and sampled)."""

    def generate_trace_id(self) -> int:
        chosen = _EDGE_TRACE_ID.get()
        if chosen is not None:
            _EDGE_TRACE_ID.set(None)  # one root span per request takes it
            return chosen
        return super().generate_trace_id()


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class EdgeSampler:
    """ASGI: sample each new request at the edge; only sampled (or caller-traced) requests meet OpenTelemetry.

    The decision is ``TraceIdRatioBased``'s on a fresh trace id; a sampled request's server span takes that
    id (:class:`EdgeIdGenerator`), an unsampled one runs under a non-sampled span context with it (its log
    lines still carry a trace id). A request with a ``traceparent`` always goes through OpenTelemetry, which
    follows the caller's decision (``ParentBased``).
    """

    def __init__(self, traced: ASGIApp, untraced: ASGIApp, ratio: float) -> None:
        self.traced = traced
        self.untraced = untraced
        self.bound = TraceIdRatioBased.get_bound_for_rate(ratio)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or any(name == b"traceparent" for name, _ in scope.get("headers", ())):
            await self.traced(scope, receive, send)
            return
        trace_id = random.getrandbits(128) or 1
        if trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self.bound:
            token = _EDGE_TRACE_ID.set(trace_id)
            try:
                await self.traced(scope, receive, send)
            finally:
                _EDGE_TRACE_ID.reset(token)
            return
        unsampled = trace.SpanContext(trace_id, random.getrandbits(64) or 1, is_remote=False)
        attached = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(unsampled)))
        try:
            await self.untraced(scope, receive, send)
        finally:
            otel_context.detach(attached)


def instrument_fastapi(app: FastAPI, sampling_ratio: float) -> None:
    """HTTP server spans for ``app`` (one per sampled request, no per-message child spans), health and metrics
    excluded; unsampled requests bypass the instrumentation (:class:`EdgeSampler`)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    untraced_stack = app.build_middleware_stack
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])
    traced_stack = app.build_middleware_stack

    def edge_sampled_stack() -> Any:
        return EdgeSampler(traced_stack(), untraced_stack(), sampling_ratio)

    app.build_middleware_stack = edge_sampled_stack  # type: ignore[method-assign]

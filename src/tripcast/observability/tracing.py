"""Traces with the OpenTelemetry SDK: OTLP over HTTP, sampled by ratio, off unless an endpoint is set.

:func:`configure_tracing` installs the process's tracer provider once (the composition root calls it with the
settings): ``ParentBased(TraceIdRatioBased(ratio))``, so a caller that sampled a request (its ``traceparent``
says so) always gets the whole trace, and new traces are kept at ``ratio``. Spans leave through a
:class:`~opentelemetry.sdk.trace.export.BatchSpanProcessor`: a background thread exports them in batches with
a short timeout, and a full queue drops spans. A collector that is down therefore costs log lines, never a
failed or slowed request.

:class:`OpenTelemetryTracer` is the adapter of the core's :class:`~tripcast.core.ports.tracing.Tracer` port;
:func:`instrument_fastapi` adds the HTTP server spans (health probes and ``/metrics`` excluded).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
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
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(sampling_ratio)))
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


class OpenTelemetryTracer:
    """The core's tracer port on OpenTelemetry: each span is a child of the current one (the request's)."""

    def __init__(self, scope: str = SCOPE) -> None:
        self._tracer = trace.get_tracer(scope)

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> AbstractContextManager[SpanHandle]:
        """A span around the ``with`` block; an exception escaping it is recorded on the span and re-raised."""
        return self._tracer.start_as_current_span(name, attributes=attributes)


def instrument_fastapi(app: FastAPI) -> None:
    """HTTP server spans for ``app`` (one per request, no per-message child spans), health and metrics excluded."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])

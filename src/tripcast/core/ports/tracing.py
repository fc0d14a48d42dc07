"""Traces, as a port: use cases open named spans; the adapter (OpenTelemetry) records them, or nothing does.

The core imports no tracing framework. A span is a context manager yielding a handle that takes attributes
(model version, counts: never a trip's coordinates, zones or a credential). :data:`NO_TRACING` is the
default: one shared no-op context manager, so a use case built without a tracer pays a method call per span.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

#: What a span attribute may hold (OpenTelemetry's scalar attribute types).
AttributeValue = str | bool | int | float


class SpanHandle(Protocol):
    """The open span: attributes known only once the work ran (the version that answered) are set here."""

    def set_attribute(self, key: str, value: AttributeValue) -> object:
        """Attach ``key=value`` to the span."""


class Tracer(Protocol):
    """Opens spans nested under the current one (the HTTP request's, a CLI command's)."""

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> AbstractContextManager[SpanHandle]:
        """A span named ``name`` around the ``with`` block, current while the block runs."""
        ...


class _NoSpan:
    __slots__ = ()

    def set_attribute(self, key: str, value: AttributeValue) -> object:
        return None


class NoTracing:
    """The tracer of a process that records no traces (tracing off: the local default)."""

    __slots__ = ()
    _SPAN: AbstractContextManager[SpanHandle] = nullcontext(_NoSpan())  # stateless: shared by every call

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> AbstractContextManager[SpanHandle]:
        return self._SPAN


#: The default tracer: records nothing.
NO_TRACING: Tracer = NoTracing()

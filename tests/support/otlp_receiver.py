"""A local OTLP/HTTP trace receiver: decodes ``ExportTraceServiceRequest`` protobufs into plain span records.

Enough of a collector for tests and benchmarks: ``POST /v1/traces`` (protobuf, optionally gzip) answers 200
with an empty ``ExportTraceServiceResponse``; every span is kept in :attr:`OtlpReceiver.spans`.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

#: OTLP's span kinds (opentelemetry.proto.trace.v1.Span.SpanKind).
SERVER, CONSUMER, PRODUCER, INTERNAL = 2, 5, 4, 1


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    links: tuple[str, ...] = ()
    #: OTLP's status code: 0 unset, 1 ok, 2 error.
    status: int = 0


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def decode(body: bytes) -> list[ReceivedSpan]:
    """The spans of one OTLP/HTTP protobuf export request."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        resource=resource,
                        links=tuple(link.span_id.hex() for link in span.links),
                        status=span.status.code,
                    )
                )
    return spans


@dataclass
class OtlpReceiver:
    """Spans received so far, and the receiver's endpoint (base URL: the exporter appends ``/v1/traces``)."""

    endpoint: str
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], seconds: float = 20) -> list[ReceivedSpan]:
        """The spans once ``predicate(spans)`` holds (AssertionError at the deadline, listing what came)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                spans = list(self.spans)
            if predicate(spans):
                return spans
            time.sleep(0.1)
        raise AssertionError(f"spans never matched in {seconds:g} s; got {[s.name for s in spans]}")


@contextmanager
def otlp_receiver(*, keep: bool = True) -> Iterator[OtlpReceiver]:
    """A receiver on a free port for the ``with`` block (``keep=False``: count requests, keep no span)."""
    holder: list[OtlpReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            receiver = holder[0]
            spans = decode(body) if keep else []
            with receiver.lock:
                receiver.requests += 1
                receiver.spans.extend(spans)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(OtlpReceiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()

"""CPU time tracing adds to one request, in process: robust where throughput on a shared host is not.

    .venv/bin/python performance/tracing/span_cost.py --requests 20000

Drives Tripcast's own server-span middleware (:class:`~tripcast.observability.tracing.ServerSpans`) around an
ASGI app that opens the spans a prediction opens (``tripcast.predict`` -> ``tripcast.features.build``,
``tripcast.model.predict``) through the core's tracer port and reads the metrics exemplar, as ``tripcast
serve`` does, with no network and no model: what is measured is tracing alone. Modes: no middleware
(tracing off), ratio 0 (every request unsampled: the 90 % at 10 %), ratio 1 without an exporter (span
work only) and ratio 1 exporting over OTLP/HTTP to a sink in another process (span work + protobuf encoding
+ HTTP, the export thread's CPU included). CPU time is this process's (all threads), per request.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from tripcast.observability.tracing import (
    EXPORT_BATCH_SPANS,
    QUEUE_SPANS,
    EdgeIdGenerator,
    OpenTelemetryTracer,
    ServerSpans,
    trace_exemplar,
)

HERE = Path(__file__).resolve().parent
SCOPE = {"type": "http", "method": "POST", "path": "/v1/predictions", "scheme": "http", "headers": []}


def prediction_app(tracer: OpenTelemetryTracer | None) -> Any:
    """An ASGI app answering 200 after the spans of one prediction (none without a tracer)."""

    class Route:
        path = "/v1/predictions"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = Route
        if tracer is not None:
            with tracer.span("tripcast.predict", {"tripcast.trips": 1}) as span:
                with tracer.span("tripcast.features.build", {"tripcast.model.version": "3", "tripcast.trips": 1}):
                    pass
                with tracer.span("tripcast.model.predict", {"tripcast.model.version": "3", "tripcast.trips": 1}):
                    pass
                span.set_attribute("tripcast.model.name", "trip-duration")
                span.set_attribute("tripcast.model.version", "3")
            trace_exemplar()
        headers = [(b"x-model-version", b"3"), (b"x-request-id", b"0123456789abcdef")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def cpu_per_request(app: Any, requests: int) -> float:
    """Microseconds of CPU (all threads) per request through ``app``."""

    async def send(message: Any) -> None:
        return None

    async def drive(n: int) -> None:
        for _ in range(n):
            await app(dict(SCOPE), None, send)

    asyncio.run(drive(requests // 10))  # warm-up
    started = time.process_time()
    asyncio.run(drive(requests))
    return (time.process_time() - started) / requests * 1e6


def provider(ratio: float, endpoint: str | None) -> TracerProvider:
    made = TracerProvider(
        resource=Resource.create({"service.name": "span-cost"}),
        sampler=ParentBased(TraceIdRatioBased(ratio)),
        id_generator=EdgeIdGenerator(),
    )
    if endpoint is not None:
        exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
        made.add_span_processor(
            BatchSpanProcessor(exporter, max_queue_size=QUEUE_SPANS, max_export_batch_size=EXPORT_BATCH_SPANS)
        )
    return made


def measure(ratio: float, endpoint: str | None, requests: int) -> float:
    traced = provider(ratio, endpoint)
    app = ServerSpans(prediction_app(OpenTelemetryTracer(provider=traced)), ratio, provider=traced)
    cost = cpu_per_request(app, requests)
    before_flush = time.process_time()
    traced.force_flush()  # the export thread's remaining work counts too
    flushed = time.process_time() - before_flush
    traced.shutdown()
    return cost + flushed / requests * 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, str(HERE / "bench_tracing.py"), "--sink", str(port)])
    time.sleep(1)
    try:
        rows = [
            ("off (no middleware)", cpu_per_request(prediction_app(None), args.requests)),
            ("unsampled (ratio 0)", measure(0.0, None, args.requests)),
            ("sampled, no exporter", measure(1.0, None, args.requests)),
            ("sampled, OTLP/HTTP export", measure(1.0, f"http://127.0.0.1:{port}", args.requests)),
        ]
    finally:
        sink.terminate()
    print(f"\n{args.requests:,} requests per mode; CPU microseconds per request (all threads of this process)")
    print("| mode | CPU µs / request |")
    print("|---|---|")
    for mode, cost in rows:
        print(f"| {mode} | {cost:.1f} |")


if __name__ == "__main__":
    main()

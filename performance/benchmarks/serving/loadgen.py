"""An open-loop HTTP load generator on raw asyncio streams (keep-alive connections, uvloop when present).

Open loop: request *i* is due at ``start + i / rate`` whatever happened to earlier ones, and its
latency is measured from that due time, so a server that falls behind is charged for the queueing it
causes (no coordinated omission). Requests still unsent ``timeout`` seconds after they were due count
as failures. Every run is bounded by its request count and a hard deadline.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class RunResult:
    """Outcome of one fixed-rate run."""

    offered_rps: float
    duration_s: float
    sent: int
    latencies_ms: list[float] = field(default_factory=list)  # successful (2xx) requests only
    statuses: Counter[int] = field(default_factory=Counter)  # 0 = transport error or timeout
    accepted_latencies_ms: list[float] = field(default_factory=list)
    # Where the time goes: how late the generator wrote each request (its own lag, >0 when it cannot
    # keep up) and the latency from that write to the answer (what the server alone is charged with).
    # send lag = producer lag (the generator itself is late: CPU) + waiting for a free connection
    # (every connection is waiting for an answer: the server is slow).
    send_lags_ms: list[float] = field(default_factory=list)
    produce_lags_ms: list[float] = field(default_factory=list)
    from_send_latencies_ms: list[float] = field(default_factory=list)  # 2xx only
    generator_cpu_s: float = 0.0  # CPU time the generator process used during the run

    @property
    def generator_cpu_share(self) -> float:
        """Generator CPU seconds per wall second (1.0 = one full core)."""
        return self.generator_cpu_s / self.duration_s if self.duration_s else 0.0

    @property
    def achieved_offered_rps(self) -> float:
        """Requests actually written per second (below ``offered_rps`` when the generator falls behind)."""
        return len(self.send_lags_ms) / self.duration_s if self.duration_s else 0.0

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def achieved_rps(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    @property
    def success_rate(self) -> float:
        return self.ok / self.sent if self.sent else 0.0

    def share(self, status: int) -> float:
        return self.statuses.get(status, 0) / self.sent if self.sent else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def send_lag_percentile(self, q: float) -> float:
        return float(np.percentile(self.send_lags_ms, q)) if self.send_lags_ms else float("nan")

    def from_send_percentile(self, q: float) -> float:
        return float(np.percentile(self.from_send_latencies_ms, q)) if self.from_send_latencies_ms else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "offered_rps": self.offered_rps,
            "written_rps": round(self.achieved_offered_rps, 1),
            "produce_lag_p99_ms": round(
                float(np.percentile(self.produce_lags_ms, 99)) if self.produce_lags_ms else float("nan"), 2
            ),
            "send_lag_p50_ms": round(self.send_lag_percentile(50), 2),
            "send_lag_p99_ms": round(self.send_lag_percentile(99), 2),
            "from_send_p99_ms": round(self.from_send_percentile(99), 2),
            "generator_cpu_share": round(self.generator_cpu_share, 2),
            "achieved_rps": round(self.achieved_rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "success_rate": round(self.success_rate, 4),
            "statuses": dict(self.statuses),
        }


def _request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _run(
    host: str, port: int, path: str, bodies: list[bytes], rate: float, duration: float, connections: int, timeout: float
) -> RunResult:
    # Latency clock: perf_counter (uvloop's loop.time() only has millisecond resolution).
    clock = time.perf_counter
    total = max(1, int(rate * duration))
    result = RunResult(rate, duration, total)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    start = clock() + 0.05

    async def produce() -> None:
        for i in range(total):
            due = start + i / rate
            delay = due - clock()
            if delay > 0.001:
                await asyncio.sleep(delay)
            queue.put_nowait((due, _request(host, port, path, bodies[i % len(bodies)])))
            result.produce_lags_ms.append((clock() - due) * 1000)
        for _ in range(connections):
            queue.put_nowait(None)

    async def connection() -> None:
        reader = writer = None
        while True:
            item = await queue.get()
            if item is None:
                break
            due, raw = item
            if clock() - due > timeout:
                result.statuses[0] += 1
                continue
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = clock()
                writer.write(raw)
                assert reader is not None
                status = await asyncio.wait_for(_read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                result.statuses[0] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            answered = clock()
            result.statuses[status] += 1
            result.send_lags_ms.append((sent - due) * 1000)
            if 200 <= status < 300:
                result.latencies_ms.append((answered - due) * 1000)
                result.from_send_latencies_ms.append((answered - sent) * 1000)
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    cpu_started = time.process_time()
    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.wait_for(asyncio.gather(produce(), *workers), duration + timeout + 30)
    result.duration_s = max(duration, time.perf_counter() - started - 0.05)
    result.generator_cpu_s = time.process_time() - cpu_started
    return result


async def _run_closed(
    host: str, port: int, path: str, bodies: list[bytes], duration: float, connections: int, timeout: float
) -> RunResult:
    clock = time.perf_counter
    result = RunResult(0.0, duration, 0)
    deadline = clock() + duration

    async def connection(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = offset
        try:
            while clock() < deadline:
                sent = clock()
                writer.write(_request(host, port, path, bodies[i % len(bodies)]))
                status = await asyncio.wait_for(_read_response(reader), timeout)
                answered = clock()
                result.sent += 1
                result.statuses[status] += 1
                if 200 <= status < 300:
                    result.latencies_ms.append((answered - sent) * 1000)
                i += connections
        finally:
            writer.close()

    started = clock()
    cpu_started = time.process_time()
    await asyncio.wait_for(asyncio.gather(*(connection(c) for c in range(connections))), duration + timeout + 30)
    result.duration_s = clock() - started
    result.generator_cpu_s = time.process_time() - cpu_started
    result.offered_rps = result.sent / result.duration_s
    return result


def run_closed_loop(
    url: str, bodies: list[dict[str, Any]], duration: float, *, connections: int = 8, timeout: float = 5.0
) -> RunResult:
    """Each of ``connections`` sends its next request as soon as the previous is answered, for
    ``duration`` seconds: the server's throughput at saturation with a bounded queue (its capacity, when
    ``connections`` is within what the server admits at once). Latency here is from the write."""
    host, port, path = _split(url)
    raw = [json.dumps(b).encode() for b in bodies]
    return _runner()(_run_closed(host, port, path, raw, duration, connections, timeout))


def _split(url: str) -> tuple[str, int, str]:
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port), "/" + path


def _runner() -> Any:
    try:
        import uvloop

        return uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        return asyncio.run


def run_open_loop(
    url: str,
    bodies: list[dict[str, Any]],
    rate: float,
    duration: float,
    *,
    connections: int = 64,
    timeout: float = 5.0,
) -> RunResult:
    """Send ``rate`` requests per second for ``duration`` seconds to ``url`` (``http://host:port/path``)."""
    host, port, path = _split(url)
    raw = [json.dumps(b).encode() for b in bodies]
    runner = _runner()
    # The generator shares its process with the benchmark's imports (~300k objects): one full cyclic
    # collection paused it ~160-200 ms, after which it wrote a second's worth of requests in one burst
    # and charged the server for it. Like timeit, pause the cyclic GC for the run; refcounting still frees.
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return runner(_run(host, port, path, raw, rate, duration, connections, timeout))
    finally:
        if was_enabled:
            gc.enable()

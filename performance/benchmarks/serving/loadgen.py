"""An open-loop HTTP load generator on raw asyncio streams (keep-alive connections, uvloop when present).

Open loop: request *i* is due at ``start + i / rate`` whatever happened to earlier ones, and its
latency is measured from that due time, so a server that falls behind is charged for the queueing it
causes (no coordinated omission). Requests still unsent ``timeout`` seconds after they were due count
as failures. Every run is bounded by its request count and a hard deadline.
"""

from __future__ import annotations

import asyncio
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

    def summary(self) -> dict[str, Any]:
        return {
            "offered_rps": self.offered_rps,
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
                writer.write(raw)
                assert reader is not None
                status = await asyncio.wait_for(_read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                result.statuses[0] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            latency = (clock() - due) * 1000
            result.statuses[status] += 1
            if 200 <= status < 300:
                result.latencies_ms.append(latency)
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.wait_for(asyncio.gather(produce(), *workers), duration + timeout + 30)
    result.duration_s = max(duration, time.perf_counter() - started - 0.05)
    return result


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
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    raw = [json.dumps(b).encode() for b in bodies]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        runner = asyncio.run
    return runner(_run(host, int(port), "/" + path, raw, rate, duration, connections, timeout))

"""CPU per refused request in Tripcast's HTTP protocol: a server that refuses every prediction, driven by a
closed loop of 64 keep-alive connections; the server's CPU seconds (user + system, so the socket reads
and writes count) divided by the requests it refused.

    .venv/bin/python performance/benchmarks/serving/refusal_cost.py [seconds]

Server on the second CPU, client on the first. CPU time is less sensitive to a shared machine than
latency, but still moves with it (caches, frequency): compare interleaved runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


def serve(port: int) -> None:
    """The refusing server (child process)."""
    import uvicorn

    sys.path.insert(0, str(ROOT / "tests"))
    from support.serving_fakes import FakeRegistry
    from tripcast.api import create_app
    from tripcast.api.protocol import SheddingHttpToolsProtocol
    from tripcast.bootstrap.serving import serving_parts
    from tripcast.settings import Settings

    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    app = create_app(serving_parts(Settings(max_loop_lag_ms=0, max_loop_busy=0), registry, cache=None, poll=False))
    app.state.load_shedder.in_flight = 10**9  # every prediction is refused by the in-flight bound
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop", http=SheddingHttpToolsProtocol
    )
    uvicorn.Server(config).run()


def main() -> None:
    import httpx
    import psutil

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from loadgen import run_closed_loop

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        url = f"http://127.0.0.1:{port}/v1/predictions"
        run_closed_loop(url, [TRIP], 1.0, connections=64)  # warm-up
        process = psutil.Process(server.pid)
        before = sum(process.cpu_times()[:2])
        result = run_closed_loop(url, [TRIP], seconds, connections=64)
        cpu = sum(process.cpu_times()[:2]) - before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
    print(
        json.dumps(
            {
                "refused": result.statuses.get(503, 0),
                "other": result.sent - result.statuses.get(503, 0),
                "server_cpu_s": round(cpu, 3),
                "us_per_refusal": round(cpu / max(1, result.sent) * 1e6, 1),
                "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()

"""What tracing costs the prediction API: throughput and p99 with tracing off, at 10 % and at 100 % sampling.

    .venv/bin/python performance/tracing/bench_tracing.py --duration 20 --rate 1000

One champion (trained on real green 2021-01 trips into a temporary SQLite registry, or ``--tracking-uri``'s)
is served by ``tripcast serve`` three times, one mode at a time. With tracing on, spans go over OTLP/HTTP to
a sink in its own process (answers 200, decodes nothing), so the server does all of its tracing work:
sampling, span creation, batching, protobuf encoding and HTTP export. Each mode gets the open-loop load of
``performance/benchmarks/serving/loadgen.py`` at ``--rate`` requests/s (one trip per request, the cache
off so every request reaches the model) and a closed-loop run (8 connections) for its saturation throughput.
Prints a Markdown table; the figures in README.md were recorded with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks" / "serving"))

MODES: dict[str, float | None] = {"off": None, "10 %": 0.1, "100 %": 1.0}


def sink(port: int) -> None:
    """An OTLP/HTTP endpoint that reads each export and answers 200 (``--sink PORT``; runs until killed)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def measure(mode: str, ratio: float | None, args: argparse.Namespace, env: dict[str, str], bodies: list[Any]) -> dict:
    from bench_http import free_port, split_cpus, tripcast_server
    from loadgen import run_closed_loop, run_open_loop

    port = free_port()
    tracing = {} if ratio is None else {"otel_exporter_endpoint": args.sink_url, "otel_sampling_ratio": str(ratio)}
    placement = split_cpus()
    cpus = placement[0] if placement else None
    url = f"http://127.0.0.1:{port}/v1/predictions"
    with tripcast_server(env, port, args.logs / mode.replace(" ", ""), cpus, **tracing):
        run_open_loop(url, bodies, args.rate, 3)  # warm-up: JIT-free, but caches, pools and the exporter start
        opened = run_open_loop(url, bodies, args.rate, args.duration)
        closed = run_closed_loop(url, bodies, args.duration, connections=8)
    return {
        "mode": mode,
        "offered": opened.offered_rps,
        "achieved": opened.achieved_rps,
        "ok": opened.success_rate,
        "p50": opened.percentile(50),
        "p99": opened.percentile(99),
        "capacity": closed.achieved_rps,
        "capacity_p99": closed.percentile(99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--model-name", default="trip-duration")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TRIPCAST_SHARED_DATA", "")))
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--sink", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink is not None:
        sink(args.sink)
        return
    import subprocess

    from bench_http import PYTHON, ensure_champion, free_port, payloads

    work = Path(tempfile.mkdtemp(prefix="tripcast-bench-tracing-"))
    args.logs = work
    for mode in MODES:
        (work / mode.replace(" ", "")).mkdir()
    tracking_uri = args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}"
    version = ensure_champion(tracking_uri, args.model_name, args.data_dir, args.rounds)
    trips, _ = payloads(args.data_dir)
    sink_port = free_port()
    args.sink_url = f"http://127.0.0.1:{sink_port}"
    receiver = subprocess.Popen([PYTHON, __file__, "--sink", str(sink_port)])
    time.sleep(1)
    env = {
        **os.environ,
        "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
        "TRIPCAST_MODEL_NAME": args.model_name,
        "TRIPCAST_DATA_DIR": str(work / "data"),
        "TRIPCAST_ENV": "local",
        "TRIPCAST_ALLOW_ANONYMOUS_PREDICTIONS": "true",
        "TRIPCAST_CACHE_SIZE": "0",
        "TRIPCAST_PREDICTION_LOG_ENABLED": "false",
    }
    try:
        rows = [measure(mode, ratio, args, env, trips) for mode, ratio in MODES.items()]
    finally:
        receiver.terminate()
    print(f"\n{args.model_name} v{version}, {args.rate:g} req/s offered for {args.duration:g} s, {os.cpu_count()} CPUs")
    print("| tracing | achieved req/s | ok | p50 ms | p99 ms | closed-loop req/s | closed-loop p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['achieved']:,.0f} | {r['ok']:.1%} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['capacity']:,.0f} | {r['capacity_p99']:.2f} |"
        )


if __name__ == "__main__":
    main()

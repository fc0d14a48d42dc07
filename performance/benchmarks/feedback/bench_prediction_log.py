"""Serving overhead of the prediction log: req/s and p99 with ``prediction_log_enabled`` on vs off.

    .venv/bin/python performance/benchmarks/feedback/bench_prediction_log.py --rates 300,800 --duration 8

Same champion (trained once on green 2021-01 in a temporary SQLite registry, native model, no compile),
same real February trips, same open-loop generator (``performance/benchmarks/serving/loadgen.py``), one
uvicorn worker pinned apart from the generator; the server runs with the log off, then on. With the log
on, the rows it wrote are counted afterwards (every 200 answer must be there). Prints one JSON line per
run; results are in RESULTS.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx

SERVING = Path(__file__).resolve().parents[1] / "serving"
sys.path.insert(0, str(SERVING))
from bench_http import ensure_champion, free_port, payloads, split_cpus, tripcast_server  # noqa: E402
from loadgen import run_open_loop  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nyc-taxi")
    parser.add_argument("--rates", default="300,800", help="offered requests/s, comma separated")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per rate")
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="tripcast-bench-log-") as scratch:
        work = Path(scratch)
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        ensure_champion(tracking_uri, "trip-duration", args.data, args.rounds)
        trips, _ = payloads(args.data)
        pinned = split_cpus()
        if pinned:
            os.sched_setaffinity(0, pinned[1])
        env = {
            **os.environ,
            "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
            "TRIPCAST_DATA_DIR": str(work),
            "TRIPCAST_CACHE_SIZE": "0",
            "TRIPCAST_DRIFT_MONITORING_ENABLED": "false",
        }
        for enabled in ("false", "true"):
            port = free_port()
            ok = 0
            with tripcast_server(env, port, work, pinned[0] if pinned else None, prediction_log_enabled=enabled):
                url = f"http://127.0.0.1:{port}/v1/predictions"
                run_open_loop(url, trips, 50, 1.0)  # warm-up
                for rate in rates:
                    result = run_open_loop(url, trips, rate, args.duration)
                    ok += result.ok
                    summary = {"log": enabled, **result.summary()}
                    print(json.dumps(summary), flush=True)
                httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=5)
            if enabled == "true":  # the server flushed its queue at shutdown
                from tripcast.mlops.feedback.sql_log import SqlPredictionLogStore

                rows = SqlPredictionLogStore(f"sqlite:///{work / 'predictions.db'}").count()
                print(json.dumps({"answered_200_incl_warmup_excluded": ok, "rows_logged": rows}), flush=True)


if __name__ == "__main__":
    main()

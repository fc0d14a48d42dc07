"""How long a Prometheus scrape of ``tripcast serve``'s ``/metrics`` takes with every series populated.

    TRIPCAST_SHARED_DATA=../shared/data/nyc-taxi .venv/bin/python \\
        performance/benchmarks/metrics_scrape/bench_metrics_scrape.py --scrapes 300

One champion (trained on real green 2021-01 trips, or ``--tracking-uri``'s) gets a reference profile
(``tripcast drift profile --model champion``). The server then runs as ``tripcast serve`` does (uvloop +
httptools), with 1 worker and with 2 (prometheus_client's multiprocess mode, every worker's file merged per
scrape); it serves 300 real February trips whose actual durations ``tripcast feedback ingest`` then records
(live error by version and borough), then takes open-loop load with good trips, bad bodies (422) and unknown
paths (404) until its ``/metrics`` shows the online drift gauges and the live-error gauges. Then ``--scrapes``
GETs of ``/metrics`` over one keep-alive connection, as Prometheus does: while the load continues, and again
once it stopped. Prints a Markdown table (p50, p99, series, bytes): README.md has the recorded figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "serving"))

from bench_http import PYTHON, ensure_champion, free_port, payloads, split_cpus, tripcast_server  # noqa: E402
from loadgen import run_open_loop  # noqa: E402

#: Series the scrape must show before it is timed: online drift and live error (ground truth).
POPULATED = ("tripcast_drift_feature_score{", "tripcast_live_rmse{", "tripcast_http_request_duration_seconds_bucket{")


def cli(env: dict[str, str], *args: str) -> None:
    """Run one ``tripcast`` command as a user would (its own process); fail loudly with its output."""
    done = subprocess.run(
        [PYTHON, "-c", "from tripcast.cli.app import app; app()", *args],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"tripcast {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def background_load(base: str, trips: list[dict[str, Any]], rate: float, stop: threading.Event) -> threading.Thread:
    """Open-loop predictions plus a trickle of 422s and 404s (more label values), until ``stop``."""

    def run() -> None:
        with httpx.Client(base_url=base, timeout=5) as client:
            while not stop.is_set():
                run_open_loop(f"{base}/v1/predictions", trips, rate, 2.0)
                client.post("/v1/predictions", json={"pickup_zone": "nowhere"})
                client.get("/v1/no-such-route")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def ground_truth(base: str, env: dict[str, str], data_dir: Path, work: Path, n: int = 300) -> None:
    """Serve ``n`` real February trips, then ingest their real durations (``tripcast feedback ingest``): the
    live-error gauges cover the last week's logged predictions, so they must be this server's own."""
    import pyarrow.parquet as pq

    columns = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"]
    table = pq.read_table(data_dir / "green_tripdata_2021-02.parquet", columns=columns).slice(5_000, 4 * n)
    lines = ["request_id,actual_minutes"]
    with httpx.Client(base_url=base, timeout=10) as client:
        for pickup, dropoff, pu, do, distance in zip(*(table.column(c).to_pylist() for c in columns), strict=True):
            minutes = (dropoff - pickup).total_seconds() / 60
            if not 1 <= minutes <= 120 or not distance:
                continue
            trip = {"pickup_datetime": pickup.isoformat(), "pickup_zone": pu, "dropoff_zone": do,
                    "trip_distance": distance}  # fmt: skip
            answer = client.post("/v1/predictions", json=trip)
            if answer.status_code == 200:
                lines.append(f"{answer.headers['X-Request-Id']},{minutes:.3f}")
            if len(lines) > n:
                break
    actuals = work / "actuals.csv"
    actuals.write_text("\n".join(lines) + "\n")
    time.sleep(2)  # the prediction log flushes every 0.5 s
    cli(env, "feedback", "ingest", "--source", str(actuals))


def wait_populated(client: httpx.Client, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = client.get("/metrics").text
        if all(name in text for name in POPULATED):
            return text
        time.sleep(1)
    missing = [name for name in POPULATED if name not in text]
    raise RuntimeError(f"/metrics never showed {missing} in {seconds:g} s")


def measure(label: str, env: dict[str, str], args: argparse.Namespace, trips: list[dict[str, Any]]) -> dict:
    port = free_port()
    placement = split_cpus()
    cpus = placement[0] if placement else None
    with tripcast_server(env, port, args.work / label.replace(" ", "_"), cpus) as server:
        base = f"http://127.0.0.1:{port}"
        ground_truth(base, env, args.data_dir, args.work / label.replace(" ", "_"))  # before any scrape
        stop = threading.Event()
        load = background_load(base, trips, args.rate, stop)
        try:
            with httpx.Client(base_url=base, timeout=10) as client:
                wait_populated(client)
                loaded = time_scrapes(client, args.scrapes)
                stop.set()
                load.join(timeout=10)
                time.sleep(1)
                cpu_before = server.cpu_seconds()
                idle = time_scrapes(client, args.scrapes)
                cpu_ms = (server.cpu_seconds() - cpu_before) / args.scrapes * 1000  # all workers' CPU
                text = client.get("/metrics").text
        finally:
            stop.set()
            load.join(timeout=10)
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {
        "mode": label,
        "idle": (float(np.percentile(idle, 50)), float(np.percentile(idle, 99))),
        "loaded": (float(np.percentile(loaded, 50)), float(np.percentile(loaded, 99))),
        "cpu_ms": cpu_ms,
        "series": len(series),
        "bytes": len(text.encode()),
    }


def time_scrapes(client: httpx.Client, n: int) -> np.ndarray:
    """Milliseconds of ``n`` GETs of ``/metrics``, one after the other."""
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        client.get("/metrics").raise_for_status()
        timings.append(time.perf_counter() - started)
    return np.array(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--model-name", default="trip-duration")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TRIPCAST_SHARED_DATA", "")))
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--rate", type=float, default=200.0, help="predictions/s offered while scraping")
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    args.work = Path(tempfile.mkdtemp(prefix="tripcast-bench-metrics-"))
    for mode in ("1_worker", "2_workers"):
        (args.work / mode).mkdir()
    tracking_uri = args.tracking_uri or f"sqlite:///{args.work / 'mlflow.db'}"
    version = ensure_champion(tracking_uri, args.model_name, args.data_dir, args.rounds)
    env = {
        **os.environ,
        "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
        "TRIPCAST_MODEL_NAME": args.model_name,
        "TRIPCAST_DATA_DIR": str(args.work / "data"),
        "TRIPCAST_ENV": "local",
        "TRIPCAST_ALLOW_ANONYMOUS_PREDICTIONS": "true",
        "TRIPCAST_CACHE_SIZE": "0",
        "TRIPCAST_DRIFT_EVALUATION_SECONDS": "2",  # the online drift gauges appear within seconds
        "TRIPCAST_DRIFT_WINDOW_SIZE": "500",
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",  # measure scrapes, not the shedder's view of a loaded host
        "TRIPCAST_MAX_LOOP_BUSY": "0",
    }
    january = args.data_dir / "green_tripdata_2021-01.parquet"
    cli(env, "drift", "profile", "--train", str(january), "--model", "champion")
    trips, _ = payloads(args.data_dir)
    rows = [measure("1 worker", env, args, trips)]
    multiprocess = args.work / "multiproc"
    multiprocess.mkdir()
    workers = env | {"BENCH_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(multiprocess)}
    rows.append(measure("2 workers", workers, args, trips))
    print(f"\n{args.model_name} v{version}: {args.scrapes} scrapes per column, {os.cpu_count()} CPUs")
    print(f"| server | idle p50 ms | idle p99 ms | server CPU ms/scrape | under {args.rate:g}/s p50 ms | p99 ms "
          "| series | bytes |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        (i50, i99), (l50, l99) = r["idle"], r["loaded"]
        print(f"| {r['mode']} | {i50:.2f} | {i99:.2f} | {r['cpu_ms']:.2f} | {l50:.2f} | {l99:.2f} | {r['series']:,} "
              f"| {r['bytes']:,} |")  # fmt: skip


if __name__ == "__main__":
    main()

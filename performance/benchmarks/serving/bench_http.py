"""Tripcast vs ``mlflow models serve`` under the same open-loop load, plus an overload run.

One command, one run:

    .venv/bin/python performance/benchmarks/serving/bench_http.py --quick
    .venv/bin/python performance/benchmarks/serving/bench_http.py --tracking-uri sqlite:///data/mlflow.db --duration 30

It reuses the ``champion`` of ``--model-name`` at ``--tracking-uri`` or, when there is none (default: a
fresh temporary SQLite registry), trains LightGBM on real green 2021-01 trips and registers it. Both
servers serve that same version, one at a time, each with its default worker count (Tripcast 1 uvicorn
worker; MLflow ``--env-manager local``, 1 worker). The same load generator (``loadgen.py``) offers each
rate for ``--duration`` seconds. Tripcast receives raw trips and builds features itself; MLflow's
pyfunc server receives the 11 precomputed feature columns (it has no feature builder), so MLflow does
less work per request. The overload run offers 3x Tripcast's best achieved throughput to a Tripcast
started with ``--overload-max-in-flight`` and reports the p99 of accepted requests and the 503 share.

Writes ``performance/reports/serving_benchmark.md`` and ``serving_benchmark.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import RunResult, run_open_loop

from tripcast.cli.serving import HTTP_PROTOCOLS
from tripcast.mlops.training.lightgbm_trainer import DEFAULT_ROUNDS
from tripcast.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[3]
REPORTS = ROOT / "performance" / "reports"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_champion(tracking_uri: str, model_name: str, data_dir: Path, rounds: int) -> str:
    """The champion's version number, training and registering one when the registry has none."""
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

    features = TripFeatureBuilder()
    registry = MlflowModelRegistry(tracking_uri, features)
    found = registry.find_alias(model_name, "champion")
    if found is not None:
        print(f"reusing {model_name} v{found.version} (champion)")
        return found.version
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    path = data_dir / "green_tripdata_2021-01.parquet"
    trips = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))).valid
    train = features.training_set(trips, "2021-01")
    print(f"training {model_name} ({rounds} rounds on {len(train):,} trips)")
    model = LightGBMTrainer(features.spec, num_boost_round=rounds).fit(train, train)
    with MlflowTracker(tracking_uri, "serving-benchmark").start_run("benchmark-champion") as run:
        uri = run.log_model(model, features.spec, train)
    version = registry.register(uri, model_name).version
    registry.set_alias(model_name, "champion", version)
    return version


def optimize(tracking_uri: str, model_name: str, version: str) -> None:
    """Compile the champion unless it already has a compiled form (what ``tripcast optimize`` does)."""
    from mlflow.tracking import MlflowClient

    from tripcast.mlops.serving.optimization import optimize_model_version
    from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG

    tags = MlflowClient(tracking_uri, tracking_uri).get_model_version(model_name, version).tags
    if ARTIFACT_TAG in tags:
        print(f"{model_name} v{version} already compiled: {tags[ARTIFACT_TAG]}")
        return
    result = optimize_model_version(tracking_uri, model_name, version)
    print(f"compiled {model_name} v{version} in {result.compile_seconds:.0f} s (max diff {result.max_abs_diff:.1e})")


def payloads(data_dir: Path, n: int = 2000) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The same real February trips as Tripcast request bodies and as MLflow ``dataframe_split`` bodies."""
    import pyarrow.parquet as pq

    from tripcast.core.domain.trip import TripRequest, trip_problems
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder

    table = pq.read_table(
        data_dir / "green_tripdata_2021-02.parquet",
        columns=["lpep_pickup_datetime", "PULocationID", "DOLocationID", "trip_distance"],
    ).slice(0, n * 2)
    trips, requests = [], []
    for when, pu, do, dist in zip(*(table.column(i).to_pylist() for i in range(4)), strict=True):
        fields = {"pickup_datetime": when, "pickup_zone": pu, "dropoff_zone": do, "trip_distance": dist}
        if trip_problems(**fields):
            continue
        trips.append({**fields, "pickup_datetime": when.isoformat()})
        requests.append(TripRequest(when, pu, do, float(dist)))
        if len(trips) == n:
            break
    builder = TripFeatureBuilder()
    matrix = builder.feature_matrix(requests)
    columns = builder.spec.feature_names
    mlflow_bodies = [{"dataframe_split": {"columns": columns, "data": [[float(v) for v in row]]}} for row in matrix]
    return trips, mlflow_bodies


class Server:
    """A server subprocess, ready when ``ready_url`` answers 200; always stopped on exit."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        ready_url: str,
        log: Path,
        cpus: set[int] | None = None,
    ) -> None:
        self.name = name
        self.log = log.open("w")

        def pin() -> None:  # in the child, before exec: the server and everything it starts stay there
            if cpus:
                os.sched_setaffinity(0, cpus)

        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=pin
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                tail = log.read_text()[-3000:]
                raise RuntimeError(f"{name} exited with {self.process.returncode}:\n{tail}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{name} not ready after 180 s; see {log}")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process and its workers so far."""
        import psutil

        parent = psutil.Process(self.process.pid)
        total = 0.0
        for proc in [parent, *parent.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


def tripcast_server(
    env: dict[str, str], port: int, logs: Path, cpus: set[int] | None = None, **overrides: str
) -> Server:
    """Tripcast as ``tripcast serve`` runs it: 1 worker, uvloop + httptools, no access log."""
    env = {**env, **{f"TRIPCAST_{k.upper()}": v for k, v in overrides.items()}}
    command = [
        PYTHON, "-m", "uvicorn", "--factory", "tripcast.api.asgi:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--loop", "uvloop", "--http", HTTP_PROTOCOLS["httptools"], "--workers", env.get("BENCH_WORKERS", "1"),
    ]  # fmt: skip
    return Server("tripcast", command, env, f"http://127.0.0.1:{port}/health/ready", logs / "tripcast.log", cpus)


def mlflow_server(env: dict[str, str], port: int, model_name: str, logs: Path, cpus: set[int] | None = None) -> Server:
    mlflow = str(Path(PYTHON).with_name("mlflow"))
    command = [
        mlflow, "models", "serve", "-m", f"models:/{model_name}@champion", "--env-manager", "local",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    return Server("mlflow", command, env, f"http://127.0.0.1:{port}/ping", logs / "mlflow.log", cpus)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(server CPUs, generator CPUs): the first CPU for the generator, the rest for the server.

    On a shared machine the scheduler otherwise puts the generator and the server on the same core now
    and then, and each then measures the other's CPU time as latency. The generator takes the first CPU
    because that is where this VM's interrupts land: the same Python code ran 1.3-2x slower there
    (feature matrix 54 vs 25 µs). None with a single CPU.
    """
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    return set(available[1:]), {available[0]}


def drive(name: str, url: str, bodies: list[dict[str, Any]], rates: list[float], duration: float) -> list[RunResult]:
    run_open_loop(url, bodies, 50, 1.0)  # warm-up: connections, caches, lazy imports
    results = []
    for rate in rates:
        result = run_open_loop(url, bodies, rate, duration)
        print(f"{name:>8} {rate:>6.0f} rps offered -> {json.dumps(result.summary())}", flush=True)
        results.append(result)
    return results


def report(
    rates: list[float],
    tripcast: list[RunResult],
    mlflow: list[RunResult],
    overload: RunResult | None,
    meta: dict[str, Any],
) -> str:
    lines = [
        f"Measured {meta['when']} on this machine ({os.cpu_count()} shared cores; {meta['placement']}), "
        f"{meta['duration']:g} s per rate, model {meta['model']} v{meta['version']} ({meta['predictor']}).",
        "",
        "| offered rps | server | achieved rps | p50 ms | p95 ms | p99 ms | success |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for rate, t, m in zip(rates, tripcast, mlflow, strict=True):
        for name, r in (("Tripcast", t), ("MLflow", m)):
            lines.append(
                f"| {rate:g} | {name} | {r.achieved_rps:.0f} | {r.percentile(50):.1f} | {r.percentile(95):.1f} | "
                f"{r.percentile(99):.1f} | {r.success_rate:.1%} |"
            )
    lines += ["", "| offered rps | throughput Tripcast/MLflow | p99 Tripcast/MLflow |", "|---:|---:|---:|"]
    for rate, t, m in zip(rates, tripcast, mlflow, strict=True):
        thr = t.achieved_rps / m.achieved_rps if m.achieved_rps else float("inf")
        p99 = t.percentile(99) / m.percentile(99) if m.latencies_ms else float("nan")
        lines.append(f"| {rate:g} | {thr:.2f} | {p99:.3g} |")
    if overload is not None:
        lines += ["", *overload_lines(overload, meta)]
    return "\n".join(lines) + "\n"


def overload_lines(overload: RunResult, meta: dict[str, Any]) -> list[str]:
    """The overload run: what was accepted, how fast, and where the CPU went."""
    other = 1 - overload.success_rate - overload.share(503)
    return [
        f"Overload: {overload.offered_rps:.0f} rps offered (3x capacity) with max_in_flight="
        f"{meta['overload_max_in_flight']}, loop-lag budget {meta['overload_max_loop_lag_ms']:g} ms, "
        f"loop-busy budget {meta['overload_max_loop_busy']:.0%}: "
        f"{overload.achieved_rps:.0f} rps accepted, accepted p50 {overload.percentile(50):.1f} ms / "
        f"p99 {overload.percentile(99):.1f} ms (from the due time), 503 share {overload.share(503):.1%}, "
        f"other failures {other:.1%}.",
        "",
        f"Where the time went: the generator wrote {overload.achieved_offered_rps:.0f} rps of the "
        f"{overload.offered_rps:.0f} due, using {overload.generator_cpu_share:.0%} of a core; the server used "
        f"{meta.get('server_cpu_share', float('nan')):.0%} of a core. Generator lag p99 "
        f"{float(np.percentile(overload.produce_lags_ms, 99)) if overload.produce_lags_ms else float('nan'):.1f} ms, "
        f"send lag (generator + waiting for a free connection) p99 {overload.send_lag_percentile(99):.1f} ms; "
        f"accepted p99 from the write {overload.from_send_percentile(99):.1f} ms.",
    ]


def plot(rates: list[float], tripcast: list[RunResult], mlflow: list[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, results, style in (("Tripcast", tripcast, "o-"), ("MLflow serve", mlflow, "s--")):
        ax1.plot(rates, [r.achieved_rps for r in results], style, label=name)
        ax2.plot(rates, [r.percentile(99) for r in results], style, label=name)
    ax1.plot(rates, rates, ":", color="grey", label="offered")
    ax1.set(xlabel="offered rps", ylabel="achieved rps (2xx)", title="Throughput")
    ax2.set(xlabel="offered rps", ylabel="p99 latency, ms", title="p99 latency (open loop)", yscale="log")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="MLflow tracking/registry URI (default: a fresh temporary SQLite)")
    parser.add_argument("--model-name", default="trip-duration")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nyc-taxi")
    parser.add_argument("--rates", default="100,500,1000,2000", help="offered requests/s, comma separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--quick", action="store_true", help="5 s per rate")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="boosting rounds when training a champion")
    parser.add_argument("--overload-max-in-flight", type=int, default=Settings().max_in_flight)
    parser.add_argument("--overload-max-loop-lag-ms", type=float, default=Settings().max_loop_lag_ms, help="0: off")
    parser.add_argument(
        "--overload-max-loop-busy", type=float, default=Settings().max_loop_busy, help="share of a core; 0: off"
    )
    parser.add_argument("--no-overload", action="store_true")
    parser.add_argument("--no-mlflow", action="store_true", help="Tripcast only: a quick before/after comparison")
    parser.add_argument("--overload-only", action="store_true", help="skip the rate table (needs --capacity)")
    parser.add_argument("--capacity", type=float, help="sustainable rps (default: Tripcast's best in the table)")
    parser.add_argument("--overload-connections", type=int, default=256)
    parser.add_argument("--no-optimize", action="store_true", help="serve the native model (skip compiling)")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the scheduler place server and generator (default: own CPUs)"
    )
    parser.add_argument("--out", type=Path, default=REPORTS)
    args = parser.parse_args()
    duration = 5.0 if args.quick else args.duration
    rates = [float(r) for r in args.rates.split(",")]
    if args.overload_only and not args.capacity:
        parser.error("--overload-only needs --capacity (the sustainable rps measured before)")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="tripcast-bench-") as scratch:
        work = Path(scratch)
        tracking_uri = args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}"
        version = ensure_champion(tracking_uri, args.model_name, args.data, args.rounds)
        if not args.no_optimize:
            optimize(tracking_uri, args.model_name, version)
        trips, mlflow_bodies = payloads(args.data)
        pinned = None if args.no_pin else split_cpus()
        server_cpus = pinned[0] if pinned else None
        if pinned:
            os.sched_setaffinity(0, pinned[1])  # this process is the load generator from here on
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
            "TRIPCAST_MODEL_NAME": args.model_name,
            "TRIPCAST_DATA_DIR": str(work),
            "TRIPCAST_CACHE_SIZE": "0",  # measure the model path, not cache hits on repeated trips
            # mlflow serve execs `uvicorn` by name: the venv's bin must be on PATH.
            "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        current: dict[str, Any] = {}
        tripcast: list[RunResult] = []
        mlflow: list[RunResult] = []
        if not args.overload_only:
            port = free_port()
            with tripcast_server(env, port, work, server_cpus) as _:
                current = httpx.get(f"http://127.0.0.1:{port}/v1/models/current").json()
                tripcast = drive("tripcast", f"http://127.0.0.1:{port}/v1/predictions", trips, rates, duration)
            if args.no_mlflow:
                return  # the per-rate lines printed by drive() are the result; no report to write
            port = free_port()
            with mlflow_server(env, port, args.model_name, work, server_cpus) as _:
                mlflow = drive("mlflow", f"http://127.0.0.1:{port}/invocations", mlflow_bodies, rates, duration)
        overload = None
        server_cpu_share = float("nan")
        if not args.no_overload:
            capacity = args.capacity or max(r.achieved_rps for r in tripcast)
            port = free_port()
            overrides = {
                "max_in_flight": str(args.overload_max_in_flight),
                "max_loop_lag_ms": str(args.overload_max_loop_lag_ms),
                "max_loop_busy": str(args.overload_max_loop_busy),
            }
            with tripcast_server(env, port, work, server_cpus, **overrides) as server:
                current = current or httpx.get(f"http://127.0.0.1:{port}/v1/models/current").json()
                run_open_loop(f"http://127.0.0.1:{port}/v1/predictions", trips, 50, 1.0)
                cpu_before = server.cpu_seconds()
                overload = run_open_loop(
                    f"http://127.0.0.1:{port}/v1/predictions",
                    trips,
                    3 * capacity,
                    duration,
                    connections=args.overload_connections,
                )
                server_cpu_share = (server.cpu_seconds() - cpu_before) / overload.duration_s
                print(f"overload {3 * capacity:.0f} rps -> {json.dumps(overload.summary())}")
                print(f"server CPU share {server_cpu_share:.2f} cores")
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "duration": duration,
        "model": args.model_name,
        "version": version,
        "predictor": current.get("predictor", "?"),
        "overload_max_in_flight": args.overload_max_in_flight,
        "overload_max_loop_lag_ms": args.overload_max_loop_lag_ms,
        "overload_max_loop_busy": args.overload_max_loop_busy,
        "server_cpu_share": server_cpu_share,
        "placement": (
            f"server on CPU {sorted(pinned[0])}, load generator on CPU {sorted(pinned[1])}"
            if pinned
            else "server and load generator placed by the scheduler"
        ),
    }
    if args.overload_only:
        assert overload is not None, "--overload-only needs the overload run"
        text = "\n".join(overload_lines(overload, meta)) + "\n"
        print(text)
        return
    text = report(rates, tripcast, mlflow, overload, meta)
    (args.out / "serving_benchmark.md").write_text(text)
    plot(rates, tripcast, mlflow, args.out / "serving_benchmark.png")
    print(text)
    print(f"wrote {args.out / 'serving_benchmark.md'} and serving_benchmark.png")


if __name__ == "__main__":
    main()

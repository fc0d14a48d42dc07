"""What a running experiment adds to serving: p99 at 1,000 requests/s, open loop, with vs without an A/B test.

    .venv/bin/python performance/experiments/overhead/bench_overhead.py            # 20 s per run, 3 rounds
    .venv/bin/python performance/experiments/overhead/bench_overhead.py --quick    # 5 s per run, 1 round

Reuses the serving benchmark's pieces (performance/benchmarks/serving: the open-loop load generator, the
``tripcast serve`` subprocess pinned to its own CPUs, the LightGBM champion trained on real green 2021-01
trips). Version 2 is the same model registered again, so both arms cost the same to predict and the
difference measured is the experiment machinery alone: the sticky hash, the arm's model lookup, the exposure
queued for the background writer and its SQLite inserts. Runs alternate (baseline, experiment, baseline...)
so drift of the machine affects both. Every request carries a ``client_id`` (the unit), 10,000 distinct ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "performance" / "benchmarks" / "serving"))
from bench_http import (  # noqa: E402 - the serving benchmark's helpers
    PYTHON,
    ensure_champion,
    free_port,
    optimize,
    payloads,
    split_cpus,
    tripcast_server,
)
from loadgen import run_open_loop  # noqa: E402

MODEL = "trip-duration"


def start_experiment(env: dict[str, str]) -> None:
    """Register the champion again as version 2 and run a 50/50 A/B test between them."""
    from tripcast.bootstrap import bootstrap
    from tripcast.core.domain.access import Identity, Role
    from tripcast.core.domain.experiment import Arm, ExperimentDefinition, ExperimentState
    from tripcast.settings import Settings

    tc = bootstrap(
        Settings(data_dir=Path(env["TRIPCAST_DATA_DIR"]), mlflow_tracking_uri=env["TRIPCAST_MLFLOW_TRACKING_URI"])
    )
    champion = tc.registry.get(MODEL, "champion")
    versions = [v.version for v in tc.registry.list_versions(MODEL)]
    second = next((v for v in versions if v != champion.version), None)
    if second is None:
        second = tc.registry.register(str(champion.source), MODEL).version
        optimize(env["TRIPCAST_MLFLOW_TRACKING_URI"], MODEL, second)
    service = tc.experiments.service
    if service.running_for(MODEL) is None:
        bench = Identity("bench", Role.ADMIN)
        definition = ExperimentDefinition(
            "overhead-ab", MODEL, (Arm("control", champion.version, 0.5), Arm("treatment", second, 0.5))
        )
        if not any(e.definition.experiment_id == "overhead-ab" for e in service.list()):
            service.create(definition, actor=bench)
        if service.store.get("overhead-ab").state is not ExperimentState.RUNNING:
            service.start("overhead-ab", actor=bench)


def micro(env: dict[str, str], n: int = 20_000) -> None:
    """In-process cost per request of the experiment path: routing (hash, weights, arm lookup) and the
    exposure handed to the writer's queue; no HTTP, no network, no load generator."""
    import time
    from datetime import datetime

    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.serving import experiment_split
    from tripcast.core.domain.trip import TripRequest
    from tripcast.settings import Settings

    tc = bootstrap(Settings(data_dir=Path(env["TRIPCAST_DATA_DIR"])))
    split, _ = experiment_split(tc, tc.serving_registry, feature_builder=tc.features)
    assert split is not None
    split.refresh()  # type: ignore[attr-defined]
    trip = [TripRequest(datetime(2021, 2, 14, 8, 30), 74, 75, 1.6, 2, 1)]
    started = time.perf_counter()
    routes = [split.route(f"rider-{i}") for i in range(n)]
    routed = time.perf_counter() - started
    started = time.perf_counter()
    for i, route in enumerate(routes):
        assert route is not None
        split.served(route, f"rider-{i}", (f"request-{i}",), trip, [1.0])
    exposed = time.perf_counter() - started
    print(f"in process: route {routed / n * 1e6:.1f} us, exposure {exposed / n * 1e6:.1f} us per request")


def one_run(env: dict[str, str], work: Path, cpus: Any, bodies: list[dict[str, Any]], rate: float, seconds: float,
            experiments: bool) -> dict[str, float]:  # fmt: skip
    port = free_port()
    overrides = {"experiments_serving": "true" if experiments else "false"}
    with tripcast_server(env, port, work, cpus, **overrides) as _:
        url = f"http://127.0.0.1:{port}/v1/predictions"
        probe = httpx.post(url, json=bodies[0], timeout=10).json()
        assert (probe["experiment"] is not None) == experiments, probe
        run_open_loop(url, bodies, rate, 2.0)  # warm-up, not measured
        result = run_open_loop(url, bodies, rate, seconds)
    return {"p50": result.percentile(50), "p99": result.percentile(99), "rps": result.achieved_rps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nyc-taxi")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/experiment pairs")
    parser.add_argument("--quick", action="store_true", help="5 s, 1 round")
    parser.add_argument("--micro", action="store_true", help="also time the experiment path in process")
    parser.add_argument("--work", type=Path, help="keep the registry here and reuse it (training and compiling "
                        "the two versions takes minutes); default: a temporary directory")  # fmt: skip
    args = parser.parse_args()
    seconds, rounds = (5.0, 1) if args.quick else (args.duration, args.rounds)
    with tempfile.TemporaryDirectory(prefix="tripcast-exp-bench-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        version = ensure_champion(tracking_uri, MODEL, args.data, 200)
        optimize(tracking_uri, MODEL, version)
        trips, _ = payloads(args.data)
        bodies = [{**trip, "client_id": f"rider-{i % 10_000}"} for i, trip in enumerate(trips * 5)]
        env = {
            **os.environ,
            "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
            "TRIPCAST_MODEL_NAME": MODEL,
            "TRIPCAST_DATA_DIR": str(work),
            "TRIPCAST_CACHE_SIZE": "0",
            "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("TRIPCAST_")})
        start_experiment(env)
        if args.micro:
            micro(env)
        pinned = split_cpus()
        server_cpus = pinned[0] if pinned else None
        if pinned:
            os.sched_setaffinity(0, pinned[1])
        runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for _ in range(rounds):
            for experiments in (False, True):
                runs[experiments].append(one_run(env, work, server_cpus, bodies, args.rate, seconds, experiments))
                print(("experiment" if experiments else "baseline  "), runs[experiments][-1], flush=True)
    base = statistics.median(r["p99"] for r in runs[False])
    with_exp = statistics.median(r["p99"] for r in runs[True])
    print(f"median p99 without experiment {base:.2f} ms, with {with_exp:.2f} ms: ratio {with_exp / base:.3f}")


if __name__ == "__main__":
    main()

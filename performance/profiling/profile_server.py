"""Profile `tripcast serve` under open-loop load with py-spy: a flame graph SVG of where the server's CPU goes.

    .venv/bin/python performance/profiling/profile_server.py --rate 800 --duration 20

Reuses the serving benchmark's pieces (performance/benchmarks/serving): the champion of a registry (trained
on real green 2021-01 trips when there is none), the server started as `tripcast serve` runs it (1 worker,
uvloop + httptools), and the open-loop generator, pinned to another CPU than the server. py-spy samples the
server process (and its children) at 100 Hz without stopping it and writes
performance/profiling/reports/server_flame.svg (open it in a browser: wider = more CPU time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks" / "serving"))
from bench_http import ensure_champion, free_port, payloads, split_cpus, tripcast_server  # noqa: E402
from loadgen import run_open_loop  # noqa: E402

REPORTS = HERE / "reports"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=800, help="requests/s offered (open loop)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load (and of sampling)")
    parser.add_argument("--out", type=Path, default=REPORTS / "server_flame.svg")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TRIPCAST_SHARED_DATA",
                        HERE.parents[2] / "shared" / "data" / "nyc-taxi")), help="folder of the TLC files")  # fmt: skip
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    data_dir = Path(tempfile.mkdtemp(prefix="tripcast-profile-"))
    tracking_uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    version = ensure_champion(tracking_uri, "trip-duration", args.data, rounds=200)
    single, _ = payloads(args.data)
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(data_dir), "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
           "TRIPCAST_ALLOW_ANONYMOUS_PREDICTIONS": "true", "TRIPCAST_MAX_LOOP_LAG_MS": "0"}  # fmt: skip
    cpus = split_cpus()
    port = free_port()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tripcast_server(env, port, data_dir, cpus[0] if cpus else None) as server:
        url = f"http://127.0.0.1:{port}/v1/predictions"
        run_open_loop(url, single, 50, 2.0)  # warm-up: connections, caches, lazy imports
        spy = subprocess.Popen([py_spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--rate",
                                "100", "--duration", str(int(args.duration)), "--format", "flamegraph",
                                "--output", str(args.out), "--nonblocking"])  # fmt: skip
        if cpus:
            os.sched_setaffinity(0, cpus[1])
        result = run_open_loop(url, single, args.rate, args.duration)
        spy.wait(timeout=args.duration + 60)
    print(f"v{version}: {result.summary()}")
    print(f"flame graph: {args.out}")


if __name__ == "__main__":
    main()

"""``tripcast drift check`` end to end on a 1M-row month: wall and CPU seconds per run, and a cProfile.

Builds (once, under ``--work``) a 1M-row green-taxi file resampled from the real 2021-03 month and an
MLflow registry whose model ``trip-duration`` has a version aliased ``champion`` carrying the
2021-01 reference profile, then runs the user's command as a subprocess ``--repeats`` times (the first
run fills the local profile cache). Not a test: run by hand, record results in
performance/reports/drift_check.md.

    .venv/bin/python performance/benchmarks/drift/bench_drift_check_cli.py --repeats 5 --profile
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRIPCAST_SHARED_DATA", "/work/shared/data/nyc-taxi"))
TRIPCAST = str(Path(sys.executable).parent / "tripcast")


def build_inputs(work: Path, rows: int) -> Path:
    """The resampled month and the registry (skipped when already there)."""
    import numpy as np
    import pyarrow.parquet as pq

    current = work / "green_tripdata_2021-03.parquet"
    if not current.exists():
        march = pq.read_table(DATA / "green_tripdata_2021-03.parquet")
        pq.write_table(march.take(np.random.default_rng(0).integers(0, march.num_rows, rows)), current)
    if not (work / "data" / "mlflow.db").exists():
        register_profile(work)
    return current


def register_profile(work: Path) -> None:
    """Version 1 of ``trip-duration``, aliased champion, whose run carries the 2021-01 reference profile."""
    os.environ["TRIPCAST_DATA_DIR"] = str(work / "data")
    from tripcast.bootstrap import bootstrap
    from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
    from tripcast.data_engineering.features.trip_feature_source import TlcFeatureSource
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.drift_detection import ReferenceProfile
    from tripcast.mlops.drift_detection.profile_store import log_reference_profile
    from tripcast.mlops.tracking.client import mlflow_client

    tc = bootstrap()
    uri = tc.tracking_store_uri
    client = mlflow_client(uri)
    run = client.create_run(client.create_experiment("drift-bench", artifact_location=tc.settings.artifact_location))
    source = TlcFeatureSource(DATA, "green", PanderaTripValidator(), TripFeatureBuilder())
    january = source.load(str(DATA / "green_tripdata_2021-01.parquet")).features
    log_reference_profile(uri, run.info.run_id, ReferenceProfile.build(TRIP_DURATION_SPEC, january))
    client.create_registered_model(tc.settings.model_name)
    version = client.create_model_version(tc.settings.model_name, "runs:/x/model", run_id=run.info.run_id)
    client.set_registered_model_alias(tc.settings.model_name, "champion", version.version)


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tripcast_drift_bench"))
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of one run")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    current = build_inputs(args.work, args.rows)
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(args.work / "data")}
    check = ["drift", "check", "--current", str(current), "--no-predictions", "--out-dir", str(args.work / "reports")]
    subprocess.run([TRIPCAST, *check], env=env, check=True, capture_output=True)  # fills the profile cache
    runs = [run_once([TRIPCAST, *check], env) for _ in range(args.repeats)]
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.rows:,} rows")
    print(f"wall: median {statistics.median(walls):.2f} s (min {min(walls):.2f}); "
          f"CPU: median {statistics.median(cpus):.2f} s (min {min(cpus):.2f})")  # fmt: skip
    if args.profile:
        out = args.work / "drift_check.prof"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), TRIPCAST, *check], env=env, check=True,
                       capture_output=True)  # fmt: skip
        print(f"cProfile written to {out} (python -m pstats {out})")


if __name__ == "__main__":
    main()

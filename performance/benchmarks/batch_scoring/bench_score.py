"""Batch scoring throughput: rows/s and rows per CPU-second of ``tripcast score``'s pipeline on a real month.

Measures, on the same loaded model version and the same file:

* the scoring pipeline (read, check, features, predict, write) in this process, ``--repeat`` times:
  wall rows/s and rows per CPU-second (``time.process_time``, all threads, so a busy shared host
  does not flatter or hide anything);
* LightGBM's own ``predict`` on the same valid rows (the floor the pipeline cannot beat);
* optionally (``--profile``) where one run's time goes (cProfile, top functions by own time);
* optionally (``--cli``) the ``tripcast score`` command end to end in a fresh process (imports, model load).

Run it on one core, as the target is stated (``OMP_NUM_THREADS=1`` keeps LightGBM on one thread)::

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python performance/benchmarks/batch_scoring/bench_score.py \
        --tracking-uri sqlite:///data/mlflow.db --input /work/shared/data/nyc-taxi/green_tripdata_2021-01.parquet

``--train-into DIR`` first trains and registers a default champion (100 trees, green 2021-01) there.
``--source-tree DIR`` measures another checkout's ``src`` (e.g. ``git archive <commit> src``) for a
before/after comparison in the same session.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SHARED = Path(os.environ.get("TRIPCAST_RAW_DIR", "/work/shared/data/nyc-taxi"))
MODEL_NAME = "trip-duration"


def train_champion(root: Path, month_file: Path) -> str:
    """Train the default LightGBM model on a month's valid trips and register it as ``champion``."""
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    month = Month.parse(month_file.stem.rsplit("_", 1)[-1])
    valid = PanderaTripValidator().split(RawDataset(read_tlc_file(month_file, "green"), month, str(month_file))).valid
    features = TripFeatureBuilder()
    train = features.training_set(valid, str(month))
    model = LightGBMTrainer(features.spec).fit(train, train)
    with MlflowTracker(uri, "batch-scoring-bench", (root / "artifacts").as_uri()).start_run("champion") as run:
        model_uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(uri, features)
    registry.set_alias(MODEL_NAME, "champion", registry.register(model_uri, MODEL_NAME).version)
    return uri


def score_once(predictor: Any, source: Path, output: Path, chunk_rows: int) -> Any:
    """One run of the batch scoring pipeline (the code under ``src``, before or after vectorising)."""
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.schema import TLC_TO_CANONICAL
    from tripcast.mlops.serving.batch import score_file

    options: dict[str, Any] = {"column_aliases": TLC_TO_CANONICAL, "chunk_rows": chunk_rows}
    parameters = inspect.signature(score_file).parameters
    if "features" in parameters:
        options["features"] = TripFeatureBuilder()
    if "show_progress" in parameters:  # the row-by-row code before issue 12
        options["show_progress"] = False
    return score_file(source, output, predictor, **options)


def lightgbm_floor(predictor: Any, scored: Path) -> float:
    """Rows per CPU-second of the model's own predict on the scored rows' features (best of 3)."""
    import pyarrow.parquet as pq

    from tripcast.core.domain.trip import TripRequest
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder

    table = pq.read_table(scored, columns=["pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance"])
    matrix = TripFeatureBuilder().feature_matrix([TripRequest(*row.values()) for row in table.to_pylist()])
    best = float("inf")
    for _ in range(3):
        cpu = time.process_time()
        predictor.predict_features(matrix)
        best = min(best, time.process_time() - cpu)
    return len(matrix) / best


def run_cli(tracking_uri: str, source: Path, output: Path, data_dir: Path) -> None:
    """``tripcast score`` in a fresh process: total wall and CPU seconds, and the command's own summary."""
    env = {**os.environ, "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri, "TRIPCAST_DATA_DIR": str(data_dir)}
    command = [
        str(Path(sys.executable).with_name("tripcast")),
        "score",
        "--input",
        str(source),
        "--output",
        str(output),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = " ".join(result.stdout.split())
    print(f"cli: exit {result.returncode}, {wall:.2f} s wall, {cpu:.2f} s CPU (imports + model load + run): {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", help="registry holding a 'champion' of trip-duration")
    parser.add_argument("--train-into", type=Path, help="train and register a default champion in this folder")
    parser.add_argument("--input", type=Path, default=SHARED / "green_tripdata_2021-01.parquet")
    parser.add_argument("--output-dir", type=Path, default=Path("/tmp/tripcast-batch-bench"))
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more run; top 12 by own time")
    parser.add_argument("--cli", action="store_true", help="also time `tripcast score` in a fresh process")
    parser.add_argument("--source-tree", type=Path, help="a checkout whose src/ to measure instead")
    args = parser.parse_args()
    if args.source_tree:
        sys.path.insert(0, str(args.source_tree / "src"))
    uri = train_champion(args.train_into, SHARED / "green_tripdata_2021-01.parquet") if args.train_into else None
    uri = uri or args.tracking_uri
    if not uri:
        parser.error("give --tracking-uri or --train-into")

    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

    predictor = MlflowModelRegistry(uri, TripFeatureBuilder()).load_predictor(MODEL_NAME, "champion")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    output = args.output_dir / "scored.parquet"
    print(f"cpus {sorted(os.sched_getaffinity(0))}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load {os.getloadavg()[0]:.1f}, {predictor!r}, input {args.input.name}")  # fmt: skip
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        report = score_once(predictor, args.input, output, args.chunk_rows)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"pipeline: {report.input_rows:,} rows ({report.scored_rows:,} scored, {report.quarantined_rows:,} "
              f"quarantined) in {wall:.3f} s wall, {cpu:.3f} s CPU: {report.input_rows / wall:,.0f} rows/s, "
              f"{report.input_rows / cpu:,.0f} rows per CPU-second")  # fmt: skip
    print(f"floor: model predict alone {lightgbm_floor(predictor, output):,.0f} rows per CPU-second")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(score_once, predictor, args.input, output, args.chunk_rows)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    if args.cli:
        run_cli(uri, args.input, args.output_dir / "cli_scored.parquet", args.output_dir / "data")


if __name__ == "__main__":
    main()

"""Time compiling at registration (``TreeliteModelCompiler.compile`` from the fitted model) on the
default 400-tree champion, as the training path runs it.

    .venv/bin/python performance/optimization/measure_registration_compile.py --options=-O1
    .venv/bin/python performance/optimization/measure_registration_compile.py --model model.txt --options=-Os

Trains LightGBM on real green 2021-01 trips (or loads ``--model``), logs and registers it in a temporary
SQLite registry, runs the hook (compile, verify on 2,000 training rows, log the library), then times
single-row calls of the published library on real February rows: the same row repeated (warm caches,
the best case) and a different row each call (what a server sees).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np


def single_row_us(model, rows: np.ndarray, calls: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    one = rows[:1].copy()
    singles = [rows[i : i + 1].copy() for i in range(min(calls, len(rows)))]
    model.predict(one)
    started = time.perf_counter()
    for _ in range(calls):
        model.predict(one)
    same = (time.perf_counter() - started) / calls * 1e6
    started = time.perf_counter()
    for row in singles:
        model.predict(row)
    varied = (time.perf_counter() - started) / len(singles) * 1e6
    return same, varied


def month(data: Path, name: str):  # type: ignore[no-untyped-def]
    """Valid trips of one real green month."""
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    path = data / f"green_tripdata_{name}.parquet"
    return PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month.parse(name), str(path))).valid


def main() -> None:
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.serving.optimization import OptimizedPredictorLoader, TreeliteModelCompiler
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import DEFAULT_PARAMS, LightGBMModel, LightGBMTrainer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a LightGBM model text file (else train one)")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared/data/nyc-taxi")
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--options", default="-Os", help="gcc flags, comma separated")
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()

    features = TripFeatureBuilder()
    train = features.training_set(month(args.data, "2021-01"), "2021-01")
    if args.model:
        model = LightGBMModel(lgb.Booster(model_file=str(args.model)), features.spec, dict(DEFAULT_PARAMS))
    else:
        model = LightGBMTrainer(features.spec, num_boost_round=args.rounds).fit(train, train)
    booster = model.native
    valid = features.training_set(month(args.data, "2021-02"), "2021-02").features
    rows = valid[features.spec.feature_names].to_numpy(np.float64)
    with tempfile.TemporaryDirectory(prefix="tripcast-regcompile-") as scratch:
        uri = f"sqlite:///{scratch}/mlflow.db"
        with MlflowTracker(uri, "registration-compile", Path(scratch, "artifacts").as_uri()).start_run("m") as run:
            model_uri = run.log_model(model, features.spec, train)
        registry = MlflowModelRegistry(uri, features)
        version = registry.register(model_uri, "trip-duration")
        compiler = TreeliteModelCompiler(uri, compiler_options=tuple(args.options.split(",")))
        started = time.perf_counter()
        form = compiler.compile(version, fitted=model, check=train)
        print(f"hook wall time {time.perf_counter() - started:.1f} s ({booster.num_trees()} trees): {form}")
        predictor = OptimizedPredictorLoader(registry, uri, features)("trip-duration", version.version)
        same, varied = single_row_us(predictor.forms["tl2cgen-compiled"], rows, args.calls)
        print(f"single row: {same:.1f} us same row, {varied:.1f} us a different real row each call")


if __name__ == "__main__":
    main()

"""Measure single-row and batch latency of a LightGBM champion in each inference form.

Forms: native LightGBM ``Booster.predict``, LightGBM's single-row C API (``LightGBMSingleRow``, what
the server races against the compiled form), tl2cgen-compiled shared library called through ctypes
(``CompiledTreeModel``) at several gcc optimisation levels, tl2cgen's own ``Predictor``, and
onnxruntime (onnxmltools conversion). Single-row times are given twice: the same row over and over
(warm caches and branch history, the optimistic number) and a different real row per call (what a
server sees).

    .venv/bin/python performance/optimization/measure.py                      # default model size
    .venv/bin/python performance/optimization/measure.py --rounds 400 --learning-rate 0.05

Without ``--model`` it trains LightGBM on real green 2021-01 trips (``--data``) with the project's
default parameters. Prints a markdown table; ``--out`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np

from tripcast.mlops.serving.optimization.single_row import time_per_row
from tripcast.mlops.training.lightgbm_trainer import DEFAULT_ROUNDS


def per_call_us(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def train(data: Path, rounds: int, learning_rate: float | None = None) -> tuple[lgb.Booster, np.ndarray]:
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    def month(name: str):  # type: ignore[no-untyped-def]
        path = data / f"green_tripdata_{name}.parquet"
        return (
            PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month.parse(name), str(path))).valid
        )

    features = TripFeatureBuilder()
    train_set = features.training_set(month("2021-01"), "2021-01")
    params = {"learning_rate": learning_rate} if learning_rate else None
    booster = LightGBMTrainer(features.spec, params, num_boost_round=rounds).fit(train_set, train_set).native
    valid = features.training_set(month("2021-02"), "2021-02").features.to_numpy(np.float64)
    return booster, valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a LightGBM model text file (else train one)")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared/data/nyc-taxi")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--learning-rate", type=float, help="default: the trainer's")
    parser.add_argument("--levels", default="-Os,-O1", help="gcc levels to compile with, comma separated")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    if args.model:
        booster = lgb.Booster(model_file=str(args.model))
        valid = np.random.default_rng(0).uniform(0, 10, size=(5000, booster.num_feature()))
    else:
        booster, valid = train(args.data, args.rounds, args.learning_rate)
    row = valid[:1].copy()
    different_rows = np.ascontiguousarray(valid[: args.calls])  # a different real row per call
    batch = valid[:1000].copy()
    reference = booster.predict(valid)
    rows: list[tuple[str, str, float, float, float, float]] = []

    def record(form: str, build_s: float, one, predict_all) -> None:  # type: ignore[no-untyped-def]
        diff = float(np.max(np.abs(predict_all(valid) - reference)))
        same = per_call_us(lambda: one(row), args.calls)
        varied = time_per_row(one, different_rows)
        batch_us = per_call_us(lambda: predict_all(batch), 50) / 1000
        rows.append((form, f"{build_s:.1f}", same, varied, batch_us, diff))
        print(rows[-1], flush=True)

    record("native LightGBM", 0.0, booster.predict, booster.predict)
    record(
        "native LightGBM, num_threads=1",
        0.0,
        lambda x: booster.predict(x, num_threads=1),
        lambda x: booster.predict(x, num_threads=1),
    )
    from tripcast.mlops.serving.optimization.single_row import LightGBMSingleRow

    fast = LightGBMSingleRow(booster)
    record("LightGBM single-row C API", 0.0, fast.predict, fast.predict)

    from tripcast.mlops.serving.optimization.compiled import CompiledTreeModel, compile_lightgbm

    with tempfile.TemporaryDirectory() as scratch:
        for level in [lvl for lvl in args.levels.split(",") if lvl]:
            started = time.perf_counter()
            path = compile_lightgbm(booster, Path(scratch) / f"model{level}.so", options=(level,))
            built = time.perf_counter() - started
            model = CompiledTreeModel(path)
            record(f"tl2cgen {level} + ctypes", built, model.predict, model.predict)
            if level == "-O1":
                import tl2cgen

                predictor = tl2cgen.Predictor(str(path), nthread=1)

                def tl2(x, p=predictor):  # type: ignore[no-untyped-def]
                    return p.predict(tl2cgen.DMatrix(x, dtype="float64")).reshape(-1)

                record("tl2cgen Predictor (DMatrix)", built, tl2, tl2)

    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    started = time.perf_counter()
    onnx_model = onnxmltools.convert_lightgbm(
        booster, initial_types=[("input", FloatTensorType([None, booster.num_feature()]))]
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    built = time.perf_counter() - started
    name = session.get_inputs()[0].name

    def run(x):  # type: ignore[no-untyped-def]
        return session.run(None, {name: x.astype(np.float32)})[0].reshape(-1)

    record("onnxruntime (float32)", built, run, run)

    table = [
        "| form | build s | single row µs (same row) | single row µs (different rows) | batch µs/row (1000) "
        "| max abs diff vs native (min) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    table += [f"| {f} | {b} | {s:.1f} | {v:.1f} | {m:.2f} | {d:.2e} |" for f, b, s, v, m, d in rows]
    text = (
        f"Model: {booster.num_trees()} trees, {booster.num_feature()} features; {len(valid)} check rows.\n\n"
        + "\n".join(table)
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

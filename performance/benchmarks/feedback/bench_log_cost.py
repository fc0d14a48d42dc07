"""The prediction log's cost, measured in CPU time rather than through a shared machine's noisy HTTP latencies.

    .venv/bin/python performance/benchmarks/feedback/bench_log_cost.py

(1) the hot path: ``BufferedPredictionLog.append`` per served request (µs, what a request pays inline);
(2) the writer: CPU seconds of ``flush()`` per row (describe + one SQLite transaction), i.e. the share of a
core the serving process gives the log at a given request rate (it holds the GIL for part of it);
(3) ``Prediction.predict`` of one trip with the log vs without (µs).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tripcast.bootstrap.feedback import describe_trips
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction
from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore

TRIP = TripRequest(datetime(2021, 2, 1, 8, 30), 74, 132, 3.2)


class Model:
    model_name, model_version, cpu_only = "trip-duration", "1", True

    def predict_trips(self, requests: list[TripRequest]) -> list[float]:
        return [12.0 for _ in requests]


class Source:
    def __init__(self) -> None:
        from tripcast.core.domain.evaluation import ModelVersion

        class Served:
            predictor, version, name, number = Model(), ModelVersion("trip-duration", "1"), "trip-duration", "1"

        self.served = Served()

    @property
    def current(self) -> object:
        return self.served

    def require(self) -> object:
        return self.served


def per_call_us(fn: object, n: int) -> float:
    best = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()  # type: ignore[operator]
        best.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(best)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        store = SqlPredictionLogStore(f"sqlite:///{Path(scratch) / 'p.db'}")
        log = BufferedPredictionLog(store, describe_trips, flush_seconds=3600, max_pending=10_000_000)
        counter = iter(range(10**9))
        append = per_call_us(lambda: log.append("m", "1", [f"r{next(counter)}"], [TRIP], [12.0]), 20_000)
        pending = log._pending_rows
        cpu = time.thread_time()
        log.flush()
        writer_us = (time.thread_time() - cpu) / pending * 1e6
        without = Prediction(Source())  # type: ignore[arg-type]
        with_log = Prediction(Source(), log=log)  # type: ignore[arg-type]
        predict_without = per_call_us(lambda: without.predict([TRIP]), 20_000)
        predict_with = per_call_us(lambda: with_log.predict([TRIP]), 20_000)
        log.flush()
        print(f"append on the request path: {append:.2f} µs per request")
        print(f"writer (describe + SQLite insert): {writer_us:.2f} CPU µs per row over {pending:,} rows")
        print(f"  = {writer_us * 1000 / 1e6 * 100:.1f} % of a core at 1,000 req/s")
        print(
            f"Prediction.predict (1 trip, trivial model): {predict_without:.2f} µs without log, "
            f"{predict_with:.2f} µs with"
        )
        print(f"rows in the log: {store.count():,}")


if __name__ == "__main__":
    main()

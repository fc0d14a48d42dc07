"""Speed: the statistics engine on 10 million observation rows read from parquet (target < 2 s).

Writes ``--rows`` synthetic observations (two arms 50/50, string unit ids, a correlated covariate, times over
14 days) to one parquet file under ``--dir`` (a temporary directory by default), then times
``StatsEngine().analyze(definition, path)`` ``--repeats`` times: DuckDB reads the file and reduces it to sums
per (arm, look); nothing loops over rows in Python. Not a test: run by hand, record results in README.md.

    .venv/bin/python performance/experiments/bench_analysis.py --rows 10000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tripcast.core.domain.experiment import Arm, ExperimentDefinition
from tripcast.mlops.ab_testing.analysis import StatsEngine


def write_observations(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` observations with a small planted effect (treatment 1 % lower) in row groups of 1M."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2021-01-01T00:00:00", "us")
    writer: pq.ParquetWriter | None = None
    for offset in range(0, rows, 1_000_000):
        size = min(1_000_000, rows - offset)
        treated = rng.random(size) < 0.5
        covariate = rng.gamma(2.0, 1.5, size)
        outcome = 4.0 + 2.0 * covariate + rng.normal(0, 3, size) - 0.1 * treated
        ids = pc.cast(pa.array(np.arange(offset, offset + size)), pa.string())
        at = start + (np.sort(rng.uniform(0, 14 * 86400, size)) * 1e6).astype("timedelta64[us]")
        table = pa.table(
            {
                "arm": pa.array(np.where(treated, "challenger", "champion")).dictionary_encode(),
                "unit_id": ids,
                "outcome": outcome,
                "covariate": covariate,
                "at": pa.array(at),
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the parquet file (temp dir)")
    args = parser.parse_args()
    definition = ExperimentDefinition(
        "bench", "any-model", (Arm("champion", "1", 0.5), Arm("challenger", "2", 0.5)), covariate="covariate"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "observations.parquet"
        began = time.perf_counter()
        write_observations(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - began:.1f} s")
        engine = StatsEngine()
        seconds, cpu = [], []
        for _ in range(args.repeats):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = engine.analyze(definition, path)
            seconds.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        load = os.getloadavg()[0]
        print(
            f"analyze: median {statistics.median(seconds):.2f} s, min {min(seconds):.2f} s, "
            f"max {max(seconds):.2f} s over {args.repeats} runs (load average {load:.1f}, {os.cpu_count()} CPUs); "
            f"CPU time median {statistics.median(cpu):.2f} s (all threads)"
        )
        print(
            f"verdict {result.verdict.value}: effect {result.effect:.4f} [{result.ci_low:.4f}, {result.ci_high:.4f}], "
            f"srm_p {result.srm_p:.3f}, CUPED variance reduction {result.variance_reduction:.3f}, "
            f"n {result.n_per_arm}"
        )


if __name__ == "__main__":
    main()

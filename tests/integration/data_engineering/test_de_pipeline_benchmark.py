"""The data pipeline benchmark runs end to end from its documented commands, on a small real input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parents[3] / "performance" / "benchmarks" / "data_pipeline"


def test_benchmark_runs_both_engines_and_their_outputs_match(shared_data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "input.parquet"
    build = [sys.executable, str(BENCH / "build_input.py"), "--data-dir", str(shared_data_dir)]
    subprocess.run([*build, "--target", str(source), "--target-mb", "4"], check=True, capture_output=True)
    rows = pq.ParquetFile(source).metadata.num_rows
    assert rows > 100_000

    results = tmp_path / "results.md"
    bench = [sys.executable, str(BENCH / "bench_pipeline.py"), "--input", str(source), "--out", str(tmp_path / "out")]
    run = [*bench, "--engines", "duckdb,pandas", "--repeat", "2", "--results", str(results)]
    subprocess.run(run, check=True, capture_output=True)

    report = results.read_text().splitlines()
    table = {line.split("|")[1].strip(): line for line in report if line.startswith("| ")}
    assert {"duckdb", "pandas"} <= set(table)
    for engine in ("duckdb", "pandas"):
        assert table[engine].rstrip(" |").endswith("yes"), table[engine]  # same output row counts in every round
    # Two interleaved rounds: the ratio is the median of the two per-round ratios, each one listed.
    per_round = next(line for line in report if line.startswith("duckdb vs pandas (pipeline) per round: "))
    ratios = [float(r.rstrip("x")) for r in per_round.split(": ")[1].split(", ")]
    assert len(ratios) == 2 and all(r > 0 for r in ratios)
    median = float(table["duckdb"].split("|")[9].split()[0].rstrip("x"))
    assert min(ratios) - 0.05 <= median <= max(ratios) + 0.05
    trips = sum(pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / "out" / "duckdb" / "trips").glob("*.parquet"))
    quarantine = sum(
        pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / "out" / "duckdb" / "quarantine").glob("*.parquet")
    )
    assert trips + quarantine == rows  # every input row is written once, clean or quarantined

"""Benchmark the full engine pipeline (split -> features -> enrichment -> aggregates -> parquet) on a large input.

Each engine runs in a fresh subprocess; wall time and the peak resident memory of the
whole process tree (the JVM included for Spark) are measured from outside by sampling.

    python performance/benchmarks/data_pipeline/build_input.py --target-mb 1024
    python performance/benchmarks/data_pipeline/bench_pipeline.py --input /tmp/tripcast-bench/trips.parquet

Use ``--engines duckdb,pandas`` and a smaller ``--target-mb`` when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
#: Grouped rows per range of a range-split aggregate write; unset: the pipeline's (see aggregate_splits).
ROWS_PER_SPLIT = os.environ.get("TRIPCAST_BENCH_ROWS_PER_SPLIT")


def run_engine(
    engine: str, input_path: Path, out_dir: Path, threads: int, write_concurrency: int | None = None
) -> dict[str, Any]:
    """Run the pipeline once in this process; return output row counts and per-stage seconds."""
    if engine == "pandas":
        sys.path.insert(0, str(HERE))
        from pandas_baseline import run_pandas

        return {"counts": run_pandas(input_path, out_dir), "stages": {}, "stage_cpu": {}}

    from tripcast.data_engineering.transformation import ParquetOutput, aggregate_splits, open_engine, transform_trips
    from tripcast.data_engineering.transformation.engine import WRITE_CONCURRENCY, spark_session
    from tripcast.data_engineering.transformation.plan import AGGREGATED_ROWS_PER_SPLIT

    spark = spark_session(f"local[{threads}]", shuffle_partitions=threads * 4) if engine == "spark" else None
    stages: dict[str, float] = {}
    stage_cpu: dict[str, float] = {}
    concurrency = write_concurrency or WRITE_CONCURRENCY
    with open_engine(engine, spark=spark, threads=threads, write_concurrency=concurrency) as eng:
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        # The monthly plan without a month (the input spans decades) and without the final sort: the
        # outputs hold the same rows, each once, in engine order. The aggregates' narrow input is
        # cleaned once (materialised) and reused by both aggregates and every range.
        outputs = transform_trips(
            eng.read_parquet(input_path), None, zone_table=eng.zone_table(), materialize=eng.materialize, ordered=False
        )
        stages["history"] = time.perf_counter() - started
        stage_cpu["history"] = _cpu_seconds() - cpu_started
        # Feature aggregates hold one group state per key; write them in pickup-zone ranges to bound memory.
        input_rows = pq.ParquetFile(input_path).metadata.num_rows
        splits = aggregate_splits(input_rows, rows_per_split=int(ROWS_PER_SPLIT or AGGREGATED_ROWS_PER_SPLIT))
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        # All four outputs in one call: DuckDB runs their part files `concurrency` queries at a time.
        written = eng.write_outputs(
            [
                ParquetOutput(expr, out_dir / name, "pickup_zone" if name in splits else None, splits.get(name, 1))
                for name, expr in outputs.items()
            ]
        )
        stages["outputs"] = time.perf_counter() - started
        stage_cpu["outputs"] = _cpu_seconds() - cpu_started
        print(f"{engine} outputs: {stages['outputs']:.1f} s, {stage_cpu['outputs']:.1f} CPU s", file=sys.stderr)
        counts = {name: _parquet_rows(target) for (name, _), target in zip(outputs.items(), written, strict=True)}
    if spark is not None:
        spark.stop()
    return {"counts": counts, "stages": stages, "stage_cpu": stage_cpu}


def _stolen_seconds() -> float | None:
    """CPU seconds the hypervisor gave to other guests, all CPUs, since boot (``steal`` in /proc/stat).

    On a shared VM this is the run's noise made visible: a run with seconds of steal lost a core to
    a neighbour for that long, and a two-thread engine loses more of its speed than a one-thread one.
    """
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _parquet_rows(directory: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in directory.rglob("*.parquet") if not p.name.startswith("."))


def _import_libraries(engine: str) -> None:
    """Import what an engine's run needs before its clock starts: "pipeline s" times the work only.

    Importing is a fixed cost of a few seconds on this machine (``tripcast`` pulls in pandas, Ibis
    and Pandera; the pandas baseline imports the same package for the zone table), paid once per
    process, not per pipeline run. It stays in "process s", measured from outside.
    """
    if engine == "pandas":
        sys.path.insert(0, str(HERE))
        import pandas_baseline  # noqa: F401
    else:
        import tripcast.data_engineering.transformation  # noqa: F401
    if engine == "spark":
        import pyspark.sql  # noqa: F401


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system seconds of this process, all threads (for Spark: the driver only, not the JVM),
    or with ``resource.RUSAGE_CHILDREN`` of its reaped children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(engine: str, input_path: Path, out_dir: Path, threads: int, write_concurrency: int | None = None) -> dict:
    """Run one engine in a subprocess; sample the process tree's RSS every 50 ms.

    CPU seconds (user + system of the whole tree, from the kernel's accounting of reaped children)
    are reported next to wall time: on a shared machine they move far less with the load.
    """
    command = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--input",
        str(input_path),
        "--out",
        str(out_dir),
        "--threads",
        str(threads),
        *(["--write-concurrency", str(write_concurrency)] if write_concurrency else []),
    ]
    cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
    steal_before = _stolen_seconds()
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    steal_after = _stolen_seconds()
    stolen = steal_after - steal_before if steal_before is not None and steal_after is not None else None
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} failed with exit code {proc.returncode}")
    child = json.loads(stdout.strip().splitlines()[-1])
    return {
        "engine": engine,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "pipeline_seconds": child["seconds"],
        "import_seconds": child["import_seconds"],
        "peak_mb": peak / 1e6,
        "stolen_seconds": stolen,
        "counts": child["counts"],
        "stages": child["stages"],
        "stage_cpu": child["stage_cpu"],
    }


def _ratios(rounds: list[list[dict]], engine: str, seconds: str = "pipeline_seconds") -> list[float]:
    """Per round: pandas' seconds over ``engine``'s (how many times faster ``engine`` was)."""
    ratios = []
    for results in rounds:
        by_engine = {r["engine"]: r for r in results}
        ratios.append(by_engine["pandas"][seconds] / by_engine[engine][seconds])
    return ratios


def summary_table(rounds: list[list[dict]], input_rows: int) -> list[str]:
    """The markdown table: one row per engine, medians over the rounds (with the range when several).

    "vs pandas" is the median of the per-round ratios, not the ratio of the medians: each round's
    engines ran back to back under the same load.
    """
    engines = [r["engine"] for r in rounds[0]]
    reference = rounds[0][0]["counts"]

    def stat(values: list[float], fmt: str = "{:.1f}") -> str:
        middle = fmt.format(statistics.median(values))
        return middle if len(values) == 1 else f"{middle} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    lines = [
        "| engine | process s | imports s | pipeline s | CPU s | stolen s | rows/s (pipeline) | peak RSS MB "
        "| vs pandas (pipeline) | vs pandas (process) | outputs match |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for engine in engines:
        runs = [next(r for r in results if r["engine"] == engine) for results in rounds]
        vs_pipeline = stat(_ratios(rounds, engine), "{:.1f}x") if "pandas" in engines else "n/a"
        vs_process = stat(_ratios(rounds, engine, "seconds"), "{:.1f}x") if "pandas" in engines else "n/a"
        match = "yes" if all(r["counts"] == reference for r in runs) else [r["counts"] for r in runs]
        # The Spark JVM is started by pyspark and never reaped by our child, so its CPU is not counted.
        cpu = "n/a" if engine == "spark" else stat([r["cpu_seconds"] for r in runs])
        steals = [r["stolen_seconds"] for r in runs]
        stolen = "n/a" if any(s is None for s in steals) else stat(steals)
        lines.append(
            f"| {engine} | {stat([r['seconds'] for r in runs])} | {stat([r['import_seconds'] for r in runs])} "
            f"| {stat([r['pipeline_seconds'] for r in runs])} | {cpu} | {stolen} "
            f"| {stat([input_rows / r['pipeline_seconds'] for r in runs], '{:,.0f}')} "
            f"| {max(r['peak_mb'] for r in runs):,.0f} | {vs_pipeline} | {vs_process} | {match} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/tmp/tripcast-bench/trips.parquet"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/tripcast-bench/out"))
    parser.add_argument("--engines", default="duckdb,spark,pandas")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--write-concurrency", type=int, default=None, help="DuckDB queries at once (default: the engine's)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="interleaved rounds of all engines; the table reports medians"
    )
    parser.add_argument("--results", type=Path, default=None, help="write a markdown table here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        started = time.perf_counter()
        _import_libraries(args.child)
        imported = time.perf_counter()
        result = run_engine(args.child, args.input, args.out / args.child, args.threads, args.write_concurrency)
        seconds = time.perf_counter() - imported
        print(json.dumps({**result, "seconds": seconds, "import_seconds": imported - started}))
        return 0

    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    rows = pq.ParquetFile(args.input).metadata.num_rows
    size_mb = args.input.stat().st_size / 1e6
    engines = args.engines.split(",")
    # Interleaved rounds (a, b, a, b, ...): on a shared machine the load drifts over minutes, so each
    # round's engines meet the same conditions and the per-round ratio is the comparison that holds.
    rounds = [
        [measure(e, args.input, args.out, args.threads, args.write_concurrency) for e in engines]
        for _ in range(args.repeat)
    ]
    lines = [
        f"Input: {args.input.name}, {rows:,} rows, {size_mb:,.0f} MB parquet; {args.threads} threads; "
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 1e9:.0f} GB RAM; {args.repeat} interleaved round(s), "
        + ("medians" if args.repeat > 1 else "one run"),
        "",
        *summary_table(rounds, rows),
    ]
    reference = rounds[0][0]["counts"]
    lines += ["", "Output rows: " + ", ".join(f"{k} {v:,}" for k, v in reference.items())]
    if args.repeat > 1 and "pandas" in engines:
        for engine in engines:
            if engine != "pandas":
                per_round = ", ".join(f"{r:.1f}x" for r in _ratios(rounds, engine))
                lines.append(f"{engine} vs pandas (pipeline) per round: {per_round}")
    for r in rounds[-1]:
        if r["stages"] and r["engine"] != "spark":
            stage_cpu = r["stage_cpu"]
            stages = ", ".join(f"{k} {v:.1f}/{stage_cpu[k]:.1f}" for k, v in r["stages"].items())
            lines.append(f"{r['engine']} stages (last round, wall s/CPU s of the process): {stages}")
        elif r["stages"]:
            stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
            lines.append(f"{r['engine']} stages (last round, wall s): {stages}")
    table = "\n".join(lines)
    print(table)
    if args.results:
        args.results.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

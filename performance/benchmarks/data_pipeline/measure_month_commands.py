"""Time `tripcast validate` and `tripcast pipeline run` on a month file as a user runs them: wall, CPU, peak RSS.

Each command runs under ``/usr/bin/time -v`` in a fresh data folder, so nothing is skipped as
up to date. Build the input with ``build_month.py`` first:

    python performance/benchmarks/data_pipeline/build_month.py --target-mb 1024 \\
        --source /work/shared/data/nyc-taxi/green_tripdata_2021-01.parquet \\
        --target /tmp/tcb/raw1g/green_tripdata_2021-01.parquet
    python performance/benchmarks/data_pipeline/measure_month_commands.py --source /tmp/tcb/raw1g --work /tmp/tcb/runs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

COMMANDS = {
    "validate": ["validate", "--month", "{month}", "--source", "{source}"],
    "pipeline": ["pipeline", "run", "--month", "{month}", "--source", "{source}"],
}
FIELDS = {
    "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)",
    "user": r"User time \(seconds\): (\S+)",
    "system": r"System time \(seconds\): (\S+)",
    "peak_kb": r"Maximum resident set size \(kbytes\): (\d+)",
}


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def measure(name: str, month: str, source: Path, work: Path) -> dict[str, float]:
    """Run one command in a fresh data folder; return wall s, CPU s and peak RSS GB."""
    data = work / name
    shutil.rmtree(data, ignore_errors=True)
    args = [a.format(month=month, source=source) for a in COMMANDS[name]]
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(data)}
    tripcast = str(Path(sys.executable).with_name("tripcast"))
    done = subprocess.run(["/usr/bin/time", "-v", tripcast, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    found = {key: re.search(pattern, done.stderr) for key, pattern in FIELDS.items()}
    values = {key: match.group(1) for key, match in found.items() if match}
    return {
        "wall_s": _seconds(values["wall"]),
        "cpu_s": float(values["user"]) + float(values["system"]),
        "peak_gb": int(values["peak_kb"]) / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, required=True, help="folder holding green_tripdata_<month>.parquet")
    parser.add_argument("--month", default="2021-01")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tripcast-bench/month-commands"))
    parser.add_argument("--commands", default="validate,pipeline")
    args = parser.parse_args(argv)
    for name in args.commands.split(","):
        result = measure(name, args.month, args.source, args.work)
        wall, cpu, peak = result["wall_s"], result["cpu_s"], result["peak_gb"]
        print(f"{name:9s} wall {wall:7.1f} s  cpu {cpu:7.1f} s  peak {peak:5.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long ``tripcast --help`` takes to start: the median of 5 runs, each a fresh interpreter.

Run: ``python3 -m uv run --frozen --no-sync python performance/benchmarks/cli_start/bench_cli_start.py``.
Target (issue 12): under 1 s. The first run warms the file cache and is not counted.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5


def time_help(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``command`` run to completion; raises if it fails.

    CPU time is reported beside wall time because on a shared, loaded host the wall time mostly measures
    the other processes; CPU time is what the command itself costs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Print each run and the medians."""
    entry = shutil.which("tripcast", path=str(Path(sys.executable).parent))
    command = (
        [entry, "--help"] if entry else [sys.executable, "-c", "from tripcast.cli.app import main; main()", "--help"]
    )
    time_help(command)
    runs = [time_help(command) for _ in range(RUNS)]
    print("runs wall/cpu (s):", " ".join(f"{wall:.3f}/{cpu:.3f}" for wall, cpu in runs))
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    with open("/proc/loadavg", encoding="ascii") as loadavg:  # Linux; context for the wall time
        load = loadavg.read().split()[0]
    print(f"tripcast --help median of {RUNS}: {wall:.3f} s wall, {cpu:.3f} s CPU, load average {load} (target < 1 s)")


if __name__ == "__main__":
    main()

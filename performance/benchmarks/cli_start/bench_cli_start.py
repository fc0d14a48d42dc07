"""How long ``tripcast --help`` takes to start: the median of 5 runs, each a fresh interpreter.

Run: ``python3 -m uv run --frozen --no-sync python performance/benchmarks/cli_start/bench_cli_start.py``.
Target (issue 12): under 1 s. The first run warms the file cache and is not counted.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5


def time_help(command: list[str]) -> float:
    """Wall seconds of one ``command`` run to completion; raises if it fails."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Print each run and the median."""
    entry = shutil.which("tripcast", path=str(Path(sys.executable).parent))
    command = [entry, "--help"] if entry else [sys.executable, "-m", "tripcast.cli", "--help"]
    time_help(command)
    runs = [time_help(command) for _ in range(RUNS)]
    print("runs (s):", " ".join(f"{r:.3f}" for r in runs))
    print(f"tripcast --help median of {RUNS}: {statistics.median(runs):.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()

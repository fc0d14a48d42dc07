"""Profile a batch job's memory with memray: `tripcast validate` of one real month, as a flame graph of
allocations at the peak (HTML) and a summary of the peak and the top allocators.

    .venv/bin/python performance/profiling/profile_batch_memory.py --month 2021-01

Runs the command exactly as a user does (the `tripcast` console script: `tripcast validate --month M`) under
`memray run --native`, in a scratch data directory whose raw files come from ../shared/data/nyc-taxi
(TRIPCAST_SHARED_DATA), and writes performance/profiling/reports/validate_<month>_memory.html
(open in a browser) and validate_<month>_memory.txt (`memray stats`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REPORTS = HERE / "reports"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--month", default="2021-01")
    args = parser.parse_args()
    memray = shutil.which("memray") or str(Path(sys.executable).with_name("memray"))
    shared = Path(os.environ.get("TRIPCAST_SHARED_DATA", ROOT.parent / "shared" / "data" / "nyc-taxi"))
    scratch = Path(tempfile.mkdtemp(prefix="tripcast-memray-"))
    capture = scratch / "validate.bin"
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(scratch / "data"), "TRIPCAST_RAW_DIR": str(shared)}
    tripcast = str(Path(sys.executable).with_name("tripcast"))  # the console script a user runs
    subprocess.run([memray, "run", "--native", "--quiet", "-o", str(capture), tripcast,
                    "validate", "--month", args.month], env=env, cwd=scratch, check=True)  # fmt: skip
    REPORTS.mkdir(parents=True, exist_ok=True)
    html = REPORTS / f"validate_{args.month}_memory.html"
    subprocess.run([memray, "flamegraph", "--force", "-o", str(html), str(capture)], check=True)
    stats = subprocess.run([memray, "stats", str(capture)], check=True, capture_output=True, text=True).stdout
    (REPORTS / f"validate_{args.month}_memory.txt").write_text(stats)
    print(stats[:2000])
    print(f"flame graph of allocations: {html}")


if __name__ == "__main__":
    main()

"""Fault injection: several processes open a fresh SQLite tracking store at the same moment.

The promise: MLflow's tables are created once; no process fails or prints a migration traceback because
another one was creating them (as `tripcast serve --workers N` or two commands on a fresh data dir do).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TRIPCAST = str(Path(sys.executable).parent / "tripcast")


def test_processes_opening_a_fresh_tracking_store_together_all_succeed_without_a_migration_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", TRIPCAST_DATA_DIR=str(tmp_path / "data"))
    racers = [
        subprocess.Popen([TRIPCAST, "models"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(racer.wait(timeout=300), *racer.communicate()) for racer in racers]
    for code, _out, err in results:
        assert "Traceback" not in err and "alembic" not in err.lower(), err
        # Each one reached the (empty) registry and says so in its one line.
        assert (code, err.strip()) == (1, "error: no model named 'trip-duration' yet: run `tripcast train`"), err

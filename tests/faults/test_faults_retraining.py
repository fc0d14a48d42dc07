"""A retraining run killed (SIGKILL) right after training resumes at the evaluation when rerun: the recorded
challenger is evaluated and decided, no second version is registered, and the month is decided once.

A real ``tripcast retrain run`` process on real green months; the test watches the run-state table and
kills the process as soon as the stage ``trained`` is committed (the evaluation that follows takes seconds).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

MODEL = "trip-duration"


def _stage(db: Path) -> str | None:
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db, timeout=0.2) as conn:
            row = conn.execute("SELECT stage FROM tripcast_retrain_runs WHERE month = '2021-02'").fetchone()
    except sqlite3.OperationalError:  # the table is not created yet, or a writer holds the lock
        return None
    return row[0] if row else None


def test_sigkill_after_training_then_rerun_resumes_without_a_duplicate_version(
    shared_data_dir: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    argv = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "retrain", "run", "--month", "2021-02"]
    argv += ["--source", str(shared_data_dir), "--json"]
    db = tmp_path / "data" / "mlflow.db"
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 400
    stage = None
    while time.monotonic() < deadline and proc.poll() is None:
        stage = _stage(db)
        if stage == "trained":
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert stage == "trained", f"never saw the trained stage (exit {proc.returncode}): {proc.stderr.read()[-2000:]!r}"
    assert proc.returncode == -signal.SIGKILL

    rerun = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    outcome = json.loads(rerun.stdout)
    assert outcome["resumed"] is True and outcome["stage"] == "decided" and outcome["challenger_version"] == "1"
    assert "train" in outcome["stage_seconds"] and outcome["decision"] == "promoted"
    with sqlite3.connect(db) as conn:
        versions = conn.execute("SELECT version FROM model_versions WHERE name = ?", (MODEL,)).fetchall()
    assert versions == [(1,)]  # resumed: nothing trained or registered twice

"""Fault injection on `tripcast pipeline run`: SIGKILL at moments spread over its steps, then resume.

The promise: a killed run leaves only whole files under their final names (old or new, never a torn
parquet or manifest), its month lock dies with it, and the next run finishes with exactly the rows a run
that was never interrupted writes: no row lost, none written twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")
MONTH = "2021-01"
STEPS = ("ingest", "validate", "transform", "quality", "export")


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", TRIPCAST_DATA_DIR=str(data_dir), MLFLOW_LOGGING_LEVEL="WARNING")
    return env


def pipeline(data_dir: Path, source: Path) -> list[str]:
    return [TRIPCAST, "pipeline", "run", "--month", MONTH, "--source", str(source)]


def output_rows(data_dir: Path) -> dict[str, int]:
    """Rows of every parquet file a reader would find, by relative path (hidden staging names excluded, as
    readers exclude them); a torn file fails here, naming itself."""
    rows = {}
    for path in sorted(data_dir.rglob("*.parquet")):
        relative = path.relative_to(data_dir)
        if "mlartifacts" in relative.parts or any(part.startswith(".") for part in relative.parts):
            continue
        try:
            rows[str(relative)] = pq.read_metadata(path).num_rows
        except Exception as exc:  # noqa: BLE001 - any unreadable file breaks the promise
            pytest.fail(f"{relative}: unreadable after SIGKILL ({exc})")
    return rows


def assert_only_whole_files(data_dir: Path) -> None:
    output_rows(data_dir)  # every parquet under a final name opens and has a footer
    for manifest in (data_dir / "pipeline").glob("*.json"):
        steps = json.loads(manifest.read_text())["steps"]  # never a half-written manifest
        assert set(steps) <= set(STEPS)


def wait_for_part_files_being_written(features: Path, run: subprocess.Popen[bytes]) -> None:
    """Return as soon as a part file exists under the features folder (staged or not) while the run lives."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if features.exists() and any(features.rglob("part-*.parquet")):
            return
        time.sleep(0.005)
    pytest.fail("the pipeline never started writing its feature files")


def test_sigkill_at_any_step_of_a_pipeline_run_leaves_whole_files_and_the_rerun_writes_every_row_once(
    tmp_path, shared_data_dir
):
    reference_dir = tmp_path / "reference"
    clean = subprocess.run(
        pipeline(reference_dir, shared_data_dir), env=environment(reference_dir), capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stderr
    expected = output_rows(reference_dir)
    assert any("features" in name for name in expected), expected

    data_dir = tmp_path / "killed"
    env = environment(data_dir)
    # First the moment the transform's part files are being written, then moments spread over the run.
    for delay in ("mid-write", 2.5, 4.0, 5.5, 7.0):
        run = subprocess.Popen(
            pipeline(data_dir, shared_data_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if delay == "mid-write":
            wait_for_part_files_being_written(data_dir / "features", run)
        else:
            time.sleep(float(delay))
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        assert_only_whole_files(data_dir)

    # The month lock died with its holder, and resuming completes every step with the reference's rows.
    resumed = subprocess.run(pipeline(data_dir, shared_data_dir), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    manifest = json.loads((data_dir / "pipeline" / f"green_{MONTH}.json").read_text())
    assert {step: record["status"] for step, record in manifest["steps"].items()} == dict.fromkeys(STEPS, "complete")
    assert output_rows(data_dir) == expected

"""`tripcast demo` end to end, as a newcomer runs it, in a fresh working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIPCAST, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", **extra)
    return env


@pytest.mark.slow
def test_demo_on_real_data_registers_a_champion_under_the_quality_bar(tmp_path, shared_data_dir):
    env = clean_env(TRIPCAST_RAW_DIR=str(shared_data_dir))
    demo = run(["demo"], tmp_path, env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "demo summary (real NYC TLC data)" in demo.stdout
    assert "drift reference profile of 73,844 training rows" in demo.stdout  # level: intermediate
    # compile_on_register is off by default: the demo registers the native model only (the server picks the
    # faster of LightGBM's single-row API and a compiled form, so compiling is `tripcast optimize`'s job)
    assert "compiled" not in demo.stdout
    # No third-party noise: MLflow's pip-version warning, Treelite's version-mismatch warning, log lines
    assert "WARNING" not in demo.stderr and "warn" not in demo.stderr.lower(), demo.stderr[-3000:]
    assert (tmp_path / "data" / "mlflow.db").exists()

    optimized = run(["optimize", "--level", "O0"], tmp_path, env)  # level: advanced
    assert optimized.returncode == 0, optimized.stderr[-3000:]  # level: advanced
    assert "compiled trip-duration v1" in optimized.stdout and "WARNING" not in optimized.stderr  # level: advanced
    trail = run(["audit", "--subject", "model:"], tmp_path, env)
    assert trail.returncode == 0 and "model.registered" in trail.stdout
    assert "model.optimized" in trail.stdout  # level: advanced

    evaluation = run(["evaluate", "--model", "champion", "--month", "2021-02", "--json"], tmp_path, env)
    assert evaluation.returncode == 0, evaluation.stderr
    metrics = json.loads(evaluation.stdout)
    assert metrics["rmse"] <= 5.6
    assert metrics["n"] + metrics["n_quarantined"] == metrics["n_input"] == 64_572

    march = shared_data_dir / "green_tripdata_2021-03.parquet"
    on_file = run(["evaluate", "--model", "champion", "--source", str(march), "--json"], tmp_path, env)
    assert on_file.returncode == 0, on_file.stderr
    assert json.loads(on_file.stdout)["n_input"] == 83_827

    models = run(["models"], tmp_path, env)
    assert models.returncode == 0 and "champion" in models.stdout

    trip = '{"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}'
    prediction = run(["predict", "--trip", trip], tmp_path, env)
    assert prediction.returncode == 0, prediction.stderr
    answer = json.loads(prediction.stdout)
    assert 1 <= answer["minutes"] <= 60 and answer["model_version"] == "1"

    february = shared_data_dir / "green_tripdata_2021-02.parquet"
    scored = run(["predict", "--input", str(february), "--output", str(tmp_path / "feb.parquet")], tmp_path, env)
    assert scored.returncode == 0, scored.stderr
    import pyarrow.parquet as pq

    n_scored = pq.read_metadata(tmp_path / "feb.parquet").num_rows
    n_quarantined = pq.read_metadata(tmp_path / "feb.quarantine.parquet").num_rows
    assert n_scored + n_quarantined == 64_572 and n_scored > 60_000

    # A second run retrains the same model; the gate keeps the champion instead of failing.
    again = run(["demo"], tmp_path, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "kept the current champion" in again.stdout


@pytest.mark.slow
def test_demo_offline_without_files_announces_the_synthetic_fallback(tmp_path):
    env = clean_env(
        TRIPCAST_TLC_BASE_URL="http://127.0.0.1:9/trip-data",  # closed port: offline
        TRIPCAST_DOWNLOAD_RETRIES="0",
        TRIPCAST_COMPILE_ON_REGISTER="false",
    )
    demo = run(["demo", "--rows", "8000"], tmp_path, env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Falling back to synthetic trips" in demo.stdout
    assert "demo summary (synthetic data)" in demo.stdout

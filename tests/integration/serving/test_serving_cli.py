"""The serving CLI against a real registry: score files, compile a version, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from serving_champion import MODEL_NAME, Champion
from typer.testing import CliRunner

from tripcast.cli.app import app

runner = CliRunner()


@pytest.fixture()
def env(champion: Champion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Champion:
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", champion.tracking_uri)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIPCAST_MODEL_NAME", MODEL_NAME)
    monkeypatch.setenv("TRIPCAST_ENV", "local")
    return champion


def test_score_command_writes_scored_and_quarantined(env: Champion, shared_data_dir: Path, tmp_path: Path) -> None:
    source = shared_data_dir / "green_tripdata_2021-03.parquet"
    output = tmp_path / "scored.parquet"
    result = runner.invoke(app, ["score", "--input", str(source), "--output", str(output), "--chunk-rows", "25000"])
    assert result.exit_code == 0, result.output
    scored = pq.read_metadata(output).num_rows
    quarantined = pq.read_metadata(tmp_path / "scored.quarantine.parquet").num_rows
    assert scored + quarantined == pq.read_metadata(source).num_rows
    assert f"{scored:,} scored" in result.output and f"v{env.version}" in result.output


def test_score_command_missing_input_is_one_clear_error(env: Champion, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["score", "--input", str(tmp_path / "nope.parquet"), "--output", str(tmp_path / "o.parquet")]
    )
    assert result.exit_code == 1
    assert "nope.parquet" in result.output and "Traceback" not in result.output


def test_score_command_unknown_alias_names_what_exists(env: Champion, tmp_path: Path, shared_data_dir: Path) -> None:
    source = shared_data_dir / "green_tripdata_2021-03.parquet"
    result = runner.invoke(
        app, ["score", "--input", str(source), "--output", str(tmp_path / "o.parquet"), "--ref", "champoin"]
    )
    assert result.exit_code == 1
    assert "champoin" in result.output and "champion" in result.output


def test_stream_command_scores_events_and_stops_on_sigterm(env: Champion, redis_url: str, redis_prefix: str) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    import redis

    client = redis.Redis.from_url(redis_url)
    trip = {"pickup_datetime": "2021-03-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
    for distance in (1.0, 5.0):
        client.xadd(f"{redis_prefix}in", {"trip": json.dumps({**trip, "trip_distance": distance})})
    client.xadd(f"{redis_prefix}in", {"trip": "not json"})
    command = [
        sys.executable, "-c", "from tripcast.cli.serving import app; app()", "stream",
        "--input", f"{redis_prefix}in", "--output", f"{redis_prefix}out", "--dead-letter", f"{redis_prefix}dlq",
        "--redis-url", redis_url, "--consumer", "cli-test",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            client.xlen(f"{redis_prefix}out") < 2 or not client.exists(f"{redis_prefix}dlq")
        ):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, output
    assert "scored 2, dead-lettered 1" in output
    minutes = [float(f[b"minutes"]) for _, f in client.xrange(f"{redis_prefix}out")]
    assert len(minutes) == 2 and minutes[1] > minutes[0]
    client.close()


def test_optimize_command_compiles_and_tags_the_version(env: Champion) -> None:  # level: advanced
    from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG

    result = runner.invoke(app, ["optimize", "--version", "champion", "--level", "O0"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # Rich wraps long lines
    assert "compiled trip-duration" in flat and "|compiled - native| = 0.00e+00" in flat
    assert env.registry.get(MODEL_NAME, env.version).tags[ARTIFACT_TAG].endswith(f"-v{env.version}.so")
    refused = runner.invoke(app, ["optimize", "--level", "fast"])
    assert refused.exit_code == 1 and "--level: must be one of" in refused.output

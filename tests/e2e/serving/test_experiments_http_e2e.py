"""Real HTTP: `tripcast serve` with two registered versions; an A/B test created and started from the CLI
splits the traffic, each rider keeps its arm, the prediction log records the version that answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from support.serve_process import free_port, serve_process

TOKEN = "e2e-token-0123456789abcdef"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "experiments", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def _answers(client: httpx.Client, riders: range) -> dict[str, dict[str, Any]]:
    return {f"r{i}": client.post("/v1/predictions", json={**TRIP, "client_id": f"r{i}"}).json() for i in riders}


def test_an_ab_test_started_from_the_cli_splits_live_traffic(served_registry: Any, tmp_path: Path) -> None:
    v1, v2 = served_registry.versions
    env = {
        **os.environ,
        "TRIPCAST_DATA_DIR": str(served_registry.data_dir),
        "TRIPCAST_MLFLOW_TRACKING_URI": served_registry.tracking_uri,
        "TRIPCAST_API_TOKEN": TOKEN,
        "TRIPCAST_ANONYMOUS_PREDICTIONS": "true",
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
        # This test's own experiments and prediction log: other tests share the registry's data directory.
        "TRIPCAST_EXPERIMENTS_URL": f"sqlite:///{tmp_path / 'experiments.db'}",
        "TRIPCAST_EXPERIMENTS_POLL_SECONDS": "0.2",
        # Never flushed while serving: every exposure below is written by the SIGTERM shutdown.
        "TRIPCAST_EXPOSURE_FLUSH_SECONDS": "60",
        "TRIPCAST_PREDICTION_LOG_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        "TRIPCAST_PREDICTION_LOG_FLUSH_SECONDS": "0.1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    definition = tmp_path / "ab.yaml"
    definition.write_text(
        f"id: e2e-ab\nmodel: trip-duration\narms:\n  - {{name: control, model: '{v1}', weight: 0.5}}\n"
        f"  - {{name: treatment, model: '{v2}', weight: 0.5}}\n"
    )
    missing = tmp_path / "missing.yaml"
    missing.write_text(definition.read_text().replace(f"model: '{v2}'", "model: '99'").replace("e2e-ab", "e2e-bad"))
    refused = _cli(env, "create", str(missing), "--as", TOKEN)
    assert (
        refused.returncode != 0
        and "arm 'treatment' names version 99 of trip-duration" in refused.stdout + refused.stderr
    )
    assert "Traceback" not in refused.stderr
    created = _cli(env, "create", str(definition), "--as", TOKEN, "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["state"] == "draft"
    with (
        serve_process(env, tmp_path / "server.log", port=free_port()) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        assert client.post("/v1/predictions", json=TRIP).json()["experiment"] is None
        started = _cli(env, "start", "e2e-ab", "--as", TOKEN, "--json")
        assert json.loads(started.stdout)["state"] == "running", started.stderr
        deadline = time.monotonic() + 30
        while client.post("/v1/predictions", json=TRIP).json()["experiment"] != "e2e-ab":
            assert time.monotonic() < deadline, "the server never followed the started experiment"
            time.sleep(0.1)
        first, again = _answers(client, range(300)), _answers(client, range(300))
        assert json.loads(_cli(env, "status", "e2e-ab", "--json").stdout)["exposures"] == {}  # all still queued
        assert {a["model_version"] for a in first.values()} == {v1, v2}
        assert all(first[r]["arm"] == again[r]["arm"] and first[r]["minutes"] == again[r]["minutes"] for r in first)
        assert all(a["model_version"] == (v1 if a["arm"] == "control" else v2) for a in first.values())
        stopped = client.post("/v1/experiments/e2e-ab/stop", headers={"Authorization": f"Bearer {TOKEN}"})
        assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    status = json.loads(_cli(env, "status", "e2e-ab", "--json").stdout)  # after SIGTERM: the shutdown flush
    assert status["state"] == "stopped" and sum(status["exposures"].values()) >= 601
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'predictions.db'}")
    with engine.connect() as conn:
        versions = dict(conn.exec_driver_sql("SELECT model_version, count(*) FROM prediction_log GROUP BY 1").all())
    assert versions.get(v2, 0) >= 100 and versions.get(v1, 0) >= 100  # the log names the version that answered
    no_outcomes = _cli(env, "analyze", "e2e-ab", "--json")
    assert (
        no_outcomes.returncode != 0
        and "no exposure with an actual outcome yet" in no_outcomes.stdout + no_outcomes.stderr
    )

"""Real HTTP, real models, real trips: `tripcast experiments replay` sends ~2,000 February trips to a running
`tripcast serve` split between a strong and a weak version (both trained on real January trips), records
their real durations as ground truth and analyses. A weak challenger ends "keep champion", a strong one "ship"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.real_models import register_lightgbm_versions, validated_january
from support.serve_process import free_port, serve_process

TOKEN = "e2e-replay-token-0123456789abcdef"
MODEL = "trip-duration"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}


@pytest.fixture(scope="module")
def weak_and_strong(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """(data dir, weak version, strong version): 3 and 150 boosting rounds on real January trips."""
    data_dir = tmp_path_factory.mktemp("replay-e2e")
    made = register_lightgbm_versions(
        validated_january(shared_data_dir).valid.sample(n=20_000, random_state=1),
        f"sqlite:///{data_dir / 'mlflow.db'}",
        data_dir / "artifacts",
        rounds=(3, 150),
        experiment="replay-e2e",
        dataset_name="2021-01-sample",
        params={"num_threads": 1},
        log_rmse=True,
        champion=1,
    )
    return data_dir, made.versions[0], made.versions[1]


@pytest.fixture(scope="module")
def served(
    weak_and_strong: tuple[Path, str, str], shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], str, Path]]:
    """A running server (champion: the strong version) and the environment the CLI shares with it."""
    data_dir, _, _ = weak_and_strong
    work = tmp_path_factory.mktemp("replay-serve")
    env = {
        **os.environ,
        "TRIPCAST_DATA_DIR": str(data_dir),
        "TRIPCAST_RAW_DIR": str(shared_data_dir),
        "TRIPCAST_TLC_BASE_URL": "http://127.0.0.1:9/trip-data",  # closed port: never downloads
        "TRIPCAST_MLFLOW_TRACKING_URI": f"sqlite:///{data_dir / 'mlflow.db'}",
        "TRIPCAST_API_TOKEN": TOKEN,
        "TRIPCAST_ANONYMOUS_PREDICTIONS": "true",
        # These tests check verdicts, not shedding: host-dependent loop checks off, and an in-flight bound above
        # the replay's own (8), so no trip is refused and every replayed trip is exposed and labelled.
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
        "TRIPCAST_MAX_IN_FLIGHT": "64",
        "TRIPCAST_EXPERIMENTS_URL": f"sqlite:///{work / 'experiments.db'}",
        "TRIPCAST_EXPERIMENTS_POLL_SECONDS": "0.2",
        "TRIPCAST_EXPOSURE_FLUSH_SECONDS": "0.2",
        "TRIPCAST_PREDICTION_LOG_URL": f"sqlite:///{work / 'predictions.db'}",
        "TRIPCAST_PREDICTION_LOG_FLUSH_SECONDS": "0.1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serve_process(env, work / "server.log", port=free_port()) as base:
        yield env, base, work


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "experiments", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)


def _run_experiment(env: dict[str, str], base: str, name: str, control: str, treatment: str) -> dict[str, Any]:
    """Create and start an A/B test over the API, wait until the server routes by it, replay February, stop."""
    arms = [
        {"name": "control", "model": control, "weight": 0.5},
        {"name": "treatment", "model": treatment, "weight": 0.5},
    ]
    body = {"id": name, "model": MODEL, "arms": arms, "minimum_detectable_effect": 0.05}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
        assert client.post("/v1/experiments", json=body).status_code == 201
        assert client.post(f"/v1/experiments/{name}/start").json()["state"] == "running"
        # Wait until both arms answer (each arm's model loads after the start): a request routed to an arm still
        # loading falls back to the champion, and the SRM check would rightly call the split broken.
        deadline, answered, probe = time.monotonic() + 60, set(), 0
        while answered != {"control", "treatment"}:
            assert time.monotonic() < deadline, f"the server never routed to both arms (saw {answered})"
            answer = client.post("/v1/predictions", json={**TRIP, "client_id": f"probe-{probe}"}).json()
            if answer["experiment"] == name:
                answered.add(answer["arm"])
            probe += 1
        # The server admits 8 requests at a time (TRIPCAST_MAX_IN_FLIGHT): the replay stays within it.
        replay = _cli(
            env, "replay", name, "--month", "2021-02", "--limit", "2000", "--rate", "250", "--max-in-flight", "8",
            "--url", base, "--json",
        )  # fmt: skip
        print(name, replay.stderr, file=sys.stderr)  # the replay's figures, shown with -s or on failure
        assert replay.returncode == 0, replay.stderr
        assert "Traceback" not in replay.stderr
        assert client.post(f"/v1/experiments/{name}/stop").json()["state"] == "stopped"
        analyzed = client.get(f"/v1/experiments/{name}/analysis").json()
    analysis: dict[str, Any] = json.loads(replay.stdout)  # stdout is only the analysis JSON
    assert analyzed["verdict"] == analysis["verdict"] and analyzed["n_per_arm"] == analysis["n_per_arm"]
    return analysis


def test_replaying_february_keeps_a_strong_champion_against_a_weak_challenger(
    weak_and_strong: tuple[Path, str, str], served: tuple[dict[str, str], str, Path]
) -> None:
    _, weak, strong = weak_and_strong
    env, base, _ = served
    analysis = _run_experiment(env, base, "replay-weak-challenger", control=strong, treatment=weak)
    assert analysis["verdict"] == "keep champion", analysis["rule"]
    assert sum(analysis["n_per_arm"].values()) >= 1990  # every replayed trip was exposed and labelled
    assert analysis["srm_p"] > 0.001 and analysis["effect"] > 0  # the weak arm errs more


def test_replaying_february_ships_a_strong_challenger_against_a_weak_champion(
    weak_and_strong: tuple[Path, str, str], served: tuple[dict[str, str], str, Path]
) -> None:
    _, weak, strong = weak_and_strong
    env, base, _ = served
    analysis = _run_experiment(env, base, "replay-strong-challenger", control=weak, treatment=strong)
    assert analysis["verdict"] == "ship", analysis["rule"]
    assert analysis["effect"] < 0 and analysis["ci_high"] < 0  # the strong arm's absolute error is lower


def test_an_in_process_replay_reaches_the_same_verdict_without_http(
    weak_and_strong: tuple[Path, str, str], served: tuple[dict[str, str], str, Path]
) -> None:
    _, weak, strong = weak_and_strong
    env, base, _ = served
    name = "replay-in-process"
    arms = [{"name": "control", "model": strong, "weight": 0.5}, {"name": "treatment", "model": weak, "weight": 0.5}]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
        assert client.post("/v1/experiments", json={"id": name, "model": MODEL, "arms": arms}).status_code == 201
        assert client.post(f"/v1/experiments/{name}/start").status_code == 200
        replay = _cli(env, "replay", name, "--month", "2021-02", "--limit", "1500", "--json")
        client.post(f"/v1/experiments/{name}/stop")
    assert replay.returncode == 0, replay.stderr
    assert "(in-process)" in replay.stderr and "sent 1,500 (0 failed, 1,500 in the experiment)" in replay.stderr
    analysis = json.loads(replay.stdout)
    assert analysis["verdict"] == "keep champion" and sum(analysis["n_per_arm"].values()) == 1500

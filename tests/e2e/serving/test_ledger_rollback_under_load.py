"""Real HTTP: `tripcast rollback` while a load runs; the server follows within 2 s, no request fails (SQLite, PG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from support.ledger_world import UtcClock, two_real_versions
from support.serve_process import free_port, serve_process
from tripcast.core.domain.ledger import AliasMove, LedgerNote
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger

TOKEN = "ledger-e2e-token-0123456789abcdef"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}
LOAD_THREADS = 4
VISIBLE_WITHIN_SECONDS = 2.0


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, shared_data_dir: Path) -> dict[str, str]:
    """A registry with v1 then v2 promoted through the ledger (champion v2), and the environment to serve it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    uri = (
        f"sqlite:///{data_dir / 'mlflow.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    )
    v1, v2 = two_real_versions(uri, data_dir, shared_data_dir)
    ledger = SqlPromotionLedger(uri, UtcClock())
    ledger.move("trip-duration", [AliasMove("champion", v1, "")], LedgerNote("alice", "first champion"))
    ledger.move("trip-duration", [AliasMove("champion", v2, v1)], LedgerNote("alice", "better"))
    ledger.engine.dispose()
    return {
        "TRIPCAST_DATA_DIR": str(data_dir),
        "TRIPCAST_MLFLOW_TRACKING_URI": uri,
        "TRIPCAST_API_TOKEN": TOKEN,
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
        "v1": v1,
        "v2": v2,
    }


class Load:
    """Threads posting predictions until stopped; every answer's status, model version and time."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: list[tuple[float, int, str]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOAD_THREADS)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    response = client.post("/v1/predictions", json=TRIP)
                    version = response.json().get("model_version", "") if response.status_code == 200 else ""
                    self.answers.append((time.time(), response.status_code, str(version)))
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.mark.slow
def test_rollback_under_load_is_followed_within_two_seconds_with_zero_failed_requests(
    backend: dict[str, str], tmp_path: Path
) -> None:
    v1, v2 = backend.pop("v1"), backend.pop("v2")
    env = {**os.environ, **backend}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serve_process(env, tmp_path / "server.log", port=free_port()) as base, Load(base) as load:
        time.sleep(1.0)
        assert load.answers and {version for _, _, version in load.answers} == {v2}
        rollback = subprocess.run(
            [sys.executable, "-c", "from tripcast.cli.app import main; main()", "rollback", "--reason", "under load",
             "--as", "oncall", "--json"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert rollback.returncode == 0, rollback.stderr
        # The ledger row's time is taken inside the transaction, just before the commit.
        committed = datetime.fromisoformat(json.loads(rollback.stdout)["at"]).timestamp()
        deadline = time.time() + 10
        while time.time() < deadline and not any(v == v1 and t > committed for t, _, v in load.answers):
            time.sleep(0.05)
        time.sleep(1.0)  # keep the load on after the switch
        with httpx.Client(base_url=base, timeout=10) as client:
            history = client.get("/v1/models/history", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    first_v1 = min((t for t, _, v in load.answers if v == v1), default=float("inf"))
    print(f"rollback visible {first_v1 - committed:.2f}s after its commit; {len(load.answers)} requests")
    assert first_v1 - committed <= VISIBLE_WITHIN_SECONDS, f"rollback visible after {first_v1 - committed:.2f}s"
    assert not load.errors and {status for _, status, _ in load.answers} == {200}, "a request failed under load"
    assert len(load.answers) > 50
    rows = [(e["from_version"], e["to_version"], e["actor"]) for e in history["entries"]]
    assert rows == [("", v1, "alice"), (v1, v2, "alice"), (v2, v1, "oncall")]
    assert history["entries"][-1]["reason"] == "rollback: under load"

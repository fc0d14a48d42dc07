"""Experiments through the real API (fake registry, real SQLite store): routes, roles, sticky arms, shadow,
canary, and exposures written at shutdown."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.api_keys import bearer
from support.experiment_api import experiment_world
from support.fakes_experiments import MovableClock
from tripcast.mlops.ab_testing.sql_store import SqlExposureLog, sql_engine
from tripcast.security.roles import Role

TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
AB = {
    "id": "ab-1",
    "model": "trip-duration",
    "arms": [{"name": "control", "model": "champion", "weight": 0.5}, {"name": "treatment", "model": 2, "weight": 0.5}],
}


def _wait_for_arm(client: TestClient, headers: dict[str, str], experiment: str | None) -> None:
    deadline = time.monotonic() + 5
    while client.post("/v1/predictions", json=TRIP, headers=headers).json()["experiment"] != experiment:
        assert time.monotonic() < deadline, f"the server never followed experiment {experiment}"
        time.sleep(0.02)


def _exposures(url: str) -> SqlExposureLog:
    return SqlExposureLog(sql_engine(url))


def test_an_operator_runs_an_ab_test_and_each_client_keeps_its_arm(tmp_path: Path) -> None:
    world = experiment_world(tmp_path, MovableClock())
    with TestClient(world.app) as client:
        op, viewer = bearer(world.keys, Role.OPERATOR), bearer(world.keys, Role.VIEWER)
        assert client.post("/v1/experiments", json=AB, headers=viewer).status_code == 403
        created = client.post("/v1/experiments", json=AB, headers=op)
        assert created.status_code == 201 and created.json()["state"] == "draft"
        assert client.post("/v1/experiments/ab-1/start", headers=op).json()["state"] == "running"
        _wait_for_arm(client, op, "ab-1")
        answers: dict[str, Any] = {}
        for i in range(2_000):  # 10,000 units are split in tests/unit/experiments (the same assign, no HTTP)
            body = client.post("/v1/predictions", json={**TRIP, "client_id": f"rider-{i}"}, headers=op).json()
            answers[f"rider-{i}"] = body
            assert body["model_version"] == ("1" if body["arm"] == "control" else "2")
            assert body["minutes"] == float(body["model_version"]) * 100 + 6.0
        share = sum(1 for a in answers.values() if a["arm"] == "treatment") / len(answers)
        assert abs(share - 0.5) < 0.04  # 2,000 units: 3 standard deviations is 0.034
        for rider in ("rider-3", "rider-77", "rider-1999"):  # sticky: the same client, the same arm
            again = client.post("/v1/predictions", json={**TRIP, "client_id": rider}, headers=op).json()
            assert again["arm"] == answers[rider]["arm"]
        status = client.get("/v1/experiments/ab-1", headers=viewer).json()
        assert status["state"] == "running" and status["arms"][1]["model_ref"] == "2"
        assert [e["id"] for e in client.get("/v1/experiments", headers=viewer).json()["experiments"]] == ["ab-1"]
        assert client.post("/v1/experiments/ab-1/stop", headers=op).json()["state"] == "stopped"
        _wait_for_arm(client, op, None)
    counts = _exposures(world.url).count("ab-1")
    assert sum(counts.values()) >= 2_003 and set(counts) == {"control", "treatment"}
    assert [e.action for e in world.audit.rows] == ["experiment.created", "experiment.started", "experiment.stopped"]


def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    world = experiment_world(tmp_path, MovableClock())
    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        missing = {**AB, "arms": [AB["arms"][0], {"name": "b", "model": 9, "weight": 0.5}]}  # type: ignore[index]
        refused = client.post("/v1/experiments", json=missing, headers=op)
        assert refused.status_code == 422
        assert "arm 'b' names version 9 of trip-duration, which does not exist" in refused.text
        split = {**AB, "arms": [{**AB["arms"][0], "weight": 0.6}, AB["arms"][1]]}  # type: ignore[index]
        assert "weights must sum to 1" in client.post("/v1/experiments", json=split, headers=op).text
        assert client.get("/v1/experiments", headers=op).json() == {"experiments": []}
        client.post("/v1/experiments", json=AB, headers=op)
        client.post("/v1/experiments", json={**AB, "id": "ab-2"}, headers=op)
        assert client.post("/v1/experiments/ab-1/start", headers=op).status_code == 200
        overlap = client.post("/v1/experiments/ab-2/start", headers=op)
        assert overlap.status_code == 409 and "already running" in overlap.text
        assert client.get("/v1/experiments/ab-2", headers=op).json()["state"] == "draft"
        assert client.post("/v1/experiments/nope/start", headers=op).status_code == 404
        not_text = client.post("/v1/predictions", json={**TRIP, "client_id": 42}, headers=op)
        assert not_text.status_code == 422 and "client_id" in not_text.text


def test_shadow_never_changes_the_answer_and_records_unanswered_scores(tmp_path: Path) -> None:
    world = experiment_world(tmp_path, MovableClock())
    shadow = {**AB, "id": "shadow-1", "mode": "shadow"}
    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        client.post("/v1/experiments", json=shadow, headers=op)
        client.post("/v1/experiments/shadow-1/start", headers=op)
        _wait_for_arm(client, op, "shadow-1")
        answers = [client.post("/v1/predictions", json=TRIP, headers=op).json() for _ in range(200)]
        assert {(a["model_version"], a["minutes"], a["arm"]) for a in answers} == {("1", 106.0, "control")}
    engine = sql_engine(world.url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT arm, answered, model_version, prediction FROM experiment_exposures WHERE experiment_id='shadow-1'"
        ).all()
    unanswered = [r for r in rows if not r[1]]
    assert len(unanswered) >= 200 and {(r[0], r[2], r[3]) for r in unanswered} == {("treatment", "2", 206.0)}
    assert {(r[0], r[2]) for r in rows if r[1]} == {("control", "1")}


def test_a_canary_steps_up_on_schedule(tmp_path: Path) -> None:
    clock = MovableClock()
    world = experiment_world(tmp_path, clock)
    canary = {
        **AB,
        "id": "canary-1",
        "mode": "canary",
        "canary_steps": [{"after_seconds": 0, "treatment_share": 0.1}, {"after_seconds": 600, "treatment_share": 0.6}],
    }

    def share(client: TestClient, headers: dict[str, str]) -> float:
        arms = [client.post("/v1/predictions", json=TRIP, headers=headers).json()["arm"] for _ in range(800)]
        return arms.count("treatment") / len(arms)

    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        client.post("/v1/experiments", json=canary, headers=op)
        client.post("/v1/experiments/canary-1/start", headers=op)
        _wait_for_arm(client, op, "canary-1")
        assert abs(share(client, op) - 0.1) < 0.04
        clock.advance(601)
        assert abs(share(client, op) - 0.6) < 0.06


@pytest.mark.parametrize("n", [300])
def test_shutdown_writes_every_acknowledged_exposure(tmp_path: Path, n: int) -> None:
    world = experiment_world(tmp_path, MovableClock(), flush_seconds=3600)  # only the shutdown flush can write
    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        client.post("/v1/experiments", json=AB, headers=op)
        client.post("/v1/experiments/ab-1/start", headers=op)
        _wait_for_arm(client, op, "ab-1")
        acknowledged = 1 + sum(
            client.post("/v1/predictions", json=TRIP, headers=op).json()["experiment"] == "ab-1" for _ in range(n)
        )
        assert _exposures(world.url).count("ab-1") == {}  # still queued while serving
    assert sum(_exposures(world.url).count("ab-1").values()) == acknowledged


def test_an_approver_decides_a_stopped_experiment_over_http(tmp_path: Path) -> None:
    world = experiment_world(tmp_path, MovableClock())
    with TestClient(world.app) as client:
        op, viewer = bearer(world.keys, Role.OPERATOR), bearer(world.keys, Role.VIEWER)
        approver = bearer(world.keys, Role.APPROVER)
        client.post("/v1/experiments", json=AB, headers=op)
        client.post("/v1/experiments/ab-1/start", headers=op)
        ship = {"verdict": "ship"}
        assert client.post("/v1/experiments/ab-1/decide", json=ship, headers=viewer).status_code == 403
        assert client.post("/v1/experiments/ab-1/decide", json=ship, headers=op).status_code == 403  # approvers
        running = client.post("/v1/experiments/ab-1/decide", json=ship, headers=approver)
        assert running.status_code == 409
        assert running.json()["detail"] == "experiment 'ab-1' is running: cannot become decided (stop it first)"
        client.post("/v1/experiments/ab-1/stop", headers=op)
        bad = client.post("/v1/experiments/ab-1/decide", json={"verdict": "maybe"}, headers=approver)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "verdict"
        assert "ship, keep champion, continue, invalid" in bad.text
        missing = client.post("/v1/experiments/ab-1/decide", json={}, headers=approver)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "verdict"
        assert client.post("/v1/experiments/nope/decide", json=ship, headers=approver).status_code == 404
        decided = client.post("/v1/experiments/ab-1/decide", json={"verdict": "Keep Champion"}, headers=approver)
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "decided" and decided.json()["verdict"] == "keep champion"
        again = client.post("/v1/experiments/ab-1/decide", json=ship, headers=approver)
        assert again.status_code == 409 and "a decision is final" in again.text
        assert client.get("/v1/experiments/ab-1", headers=viewer).json()["verdict"] == "keep champion"
    decided_rows = [e for e in world.audit.rows if e.action == "experiment.decided"]
    assert len(decided_rows) == 1 and decided_rows[0].details["verdict"] == "keep champion"
    assert decided_rows[0].subject == "experiment:ab-1" and decided_rows[0].actor != "anonymous"

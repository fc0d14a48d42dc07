"""A client's ``X-Request-Id`` is the request's id everywhere: the experiment's assignment unit (without a
``client_id``), its exposure, the prediction log's row (outcomes join on it) and the response header.
Absent: generated. Invalid: 422 naming the header, nothing served."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.api_keys import bearer
from support.experiment_api import experiment_world
from support.fakes_experiments import MovableClock
from tripcast.bootstrap.feedback import describe_trips
from tripcast.core.domain.experiment import assign
from tripcast.mlops.ab_testing.sql_store import SqlExposureLog, sql_engine
from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore
from tripcast.security.roles import Role

TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
AB = {
    "id": "ab-rid",
    "model": "trip-duration",
    "arms": [{"name": "control", "model": "champion", "weight": 0.5}, {"name": "treatment", "model": 2, "weight": 0.5}],
}


def test_the_client_s_request_id_names_the_exposure_the_log_row_and_the_answer(tmp_path: Path) -> None:
    store = SqlPredictionLogStore(f"sqlite:///{tmp_path / 'predictions.db'}")
    log = BufferedPredictionLog(store, describe_trips, flush_seconds=0.05)
    world = experiment_world(tmp_path, MovableClock(), prediction_log=log)
    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        client.post("/v1/experiments", json=AB, headers=op)
        client.post("/v1/experiments/ab-rid/start", headers=op)
        deadline = time.monotonic() + 5
        while world.traffic.running is None:
            assert time.monotonic() < deadline, "the server never followed the experiment"
            time.sleep(0.02)
        named = [f"order-{i}:x/y" for i in range(40)]
        answers = [client.post("/v1/predictions", json=TRIP, headers={**op, "X-Request-Id": rid}) for rid in named]
        batch = client.post(
            "/v1/predictions", json={"trips": [TRIP, TRIP, TRIP]}, headers={**op, "X-Request-Id": "batch-7"}
        )
        generated = client.post("/v1/predictions", json=TRIP, headers=op)
    log.close()
    for rid, answer in zip(named, answers, strict=True):
        assert answer.status_code == 200 and answer.headers["X-Request-Id"] == rid
        expected_arm = ("control", "treatment")[assign("ab-rid", rid, (0.5, 0.5))]  # the unit is the id
        assert answer.json()["arm"] == expected_arm
    assert batch.headers["X-Request-Id"] == "batch-7"
    assert generated.headers["X-Request-Id"] not in named and generated.headers["X-Request-Id"]
    exposures = SqlExposureLog(sql_engine(world.url))
    exposed = set(exposures.request_ids("ab-rid"))
    assert set(named) | {"batch-7.0", "batch-7.1", "batch-7.2"} <= exposed
    assert store.known_ids([*named, "batch-7.0", "batch-7.2"]) == {*named, "batch-7.0", "batch-7.2"}
    store.close()


@pytest.mark.parametrize(
    ("value", "why"),
    [("x" * 129, "129 characters"), ("has space", "without spaces"), ("tab\there", "printable"), ("", "1-128")],
)
def test_an_invalid_request_id_is_refused_naming_the_header(tmp_path: Path, value: str, why: str) -> None:
    world = experiment_world(tmp_path, MovableClock())
    with TestClient(world.app) as client:
        op = bearer(world.keys, Role.OPERATOR)
        refused = client.post("/v1/predictions", json=TRIP, headers={**op, "X-Request-Id": value})
        accepted = client.post("/v1/predictions", json=TRIP, headers={**op, "X-Request-Id": "x" * 128})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["errors"][0]["field"] == "X-Request-Id" and why in body["errors"][0]["problem"]
    assert "Traceback" not in refused.text
    assert accepted.status_code == 200 and accepted.headers["X-Request-Id"] == "x" * 128

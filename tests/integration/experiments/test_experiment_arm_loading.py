"""The window right after ``start`` (issue #14): an arm whose model is still loading.

Until every arm is loaded the champion answers every request and **no exposure is recorded** (a unit is in
the experiment with its hashed arm, or not at all); once loaded, the split is fair. Real API, real SQLite
exposure log, an arm's load held back by an event (as a slow artifact download would).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient
from scipy.stats import chisquare

from support.api_keys import bearer
from support.experiment_api import experiment_world
from support.fakes_experiments import MovableClock
from tripcast.mlops.ab_testing.sql_store import SqlExposureLog, sql_engine
from tripcast.security.roles import Role

TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
AB = {
    "id": "ab-slow",
    "model": "trip-duration",
    "arms": [{"name": "control", "model": "champion", "weight": 0.5}, {"name": "treatment", "model": 2, "weight": 0.5}],
}


def _until(condition: object, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _sample(metrics: object, name: str, labels: dict[str, str]) -> float:
    value = metrics.registry.get_sample_value(name, labels)  # type: ignore[attr-defined]
    return 0.0 if value is None else float(value)


def test_a_slow_arm_load_leaves_no_exposure_and_the_split_is_fair_once_loaded(tmp_path: Path) -> None:
    treatment_loads = threading.Event()
    world = experiment_world(tmp_path, MovableClock(), gates={"2": treatment_loads})
    try:
        with TestClient(world.app) as client:
            op = bearer(world.keys, Role.OPERATOR)
            assert client.post("/v1/experiments", json=AB, headers=op).status_code == 201
            assert client.post("/v1/experiments/ab-slow/start", headers=op).json()["state"] == "running"
            _until(lambda: world.traffic.waiting is not None, "the poller never saw the started experiment")
            # The window: the store says running, version 2 is still loading.
            early = [
                client.post("/v1/predictions", json={**TRIP, "client_id": f"early-{i}"}, headers=op) for i in range(200)
            ]
            assert {(r.json()["experiment"], r.json()["arm"], r.json()["model_version"]) for r in early} == {
                (None, None, "1")
            }
            world.exposures.flush()
            assert world.exposures.count("ab-slow") == {}  # no fallback was exposed
            fallbacks = {"experiment": "ab-slow", "reason": "arms_loading"}
            assert _sample(world.metrics, "tripcast_experiment_fallbacks_total", fallbacks) == 200
            assert _sample(world.metrics, "tripcast_experiment_arms_loaded", {"experiment": "ab-slow"}) == 1

            treatment_loads.set()
            _until(lambda: world.traffic.running is not None, "the experiment never routed once its arms loaded")
            arms: Counter[str] = Counter()
            for i in range(1_000):
                body = client.post("/v1/predictions", json={**TRIP, "client_id": f"rider-{i}"}, headers=op).json()
                assert body["experiment"] == "ab-slow"
                assert body["model_version"] == ("1" if body["arm"] == "control" else "2")
                arms[body["arm"]] += 1
            metrics_text = client.get("/metrics").text
    finally:
        treatment_loads.set()
    written = SqlExposureLog(sql_engine(world.url)).count("ab-slow")
    assert written == dict(arms)  # exactly the routed requests, each under the arm that answered it
    assert chisquare([arms["control"], arms["treatment"]]).pvalue > 0.001  # the SRM check would pass
    assert _sample(world.metrics, "tripcast_experiment_fallbacks_total", fallbacks) == 200  # none after loading
    for arm, n in arms.items():
        assert _sample(world.metrics, "tripcast_experiment_exposures_total", {"experiment": "ab-slow", "arm": arm}) == n
    assert 'tripcast_experiment_arms_loaded{experiment="ab-slow"} 2.0' in metrics_text
    assert 'tripcast_experiment_arm_info{arm="treatment",experiment="ab-slow",model_version="2"} 1.0' in metrics_text
    assert 'tripcast_experiment_arm_target_share{arm="treatment",experiment="ab-slow"} 0.5' in metrics_text

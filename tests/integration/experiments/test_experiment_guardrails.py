"""Guardrails measured from what serving recorded (issue #14): each exposure carries the arm's time and failure,
and its prediction; the analysis measures p99 latency, error rate and prediction drift per treatment arm, and a
breach keeps the champion with the guardrail named, even when the primary metric says "ship".

The real serving path (prediction use case, traffic split), a real SQLite exposure log and the real statistics
engine; the arms are fake models whose answers, speed and failures the test sets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from support.fakes_experiments import FakeExperimentStore, MovableClock, run_background_now
from support.fakes_ml import FakeAudit
from support.serving_fakes import FakePredictor, FakeRegistry
from tripcast.bootstrap.experiments import stats_engine
from tripcast.bootstrap.serving import PinnedModel
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.experiment import Arm, ExperimentDefinition, Guardrail, Verdict
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.experiments import OutcomeSource
from tripcast.core.ports.tracking import Predictor
from tripcast.core.services.experiments import Experiments, ExperimentTraffic
from tripcast.core.services.prediction import Prediction
from tripcast.mlops.ab_testing.sql_store import SqlExposureLog, sql_engine

NAME = "trip-duration"
OPERATOR = Identity("olga", Role.OPERATOR)
UNITS = 600


class Treatment(FakePredictor):
    """Version 2: slower by ``sleep`` seconds per call, failing every ``fail_every``-th call."""

    def __init__(self, sleep: float = 0.0, fail_every: int = 0) -> None:
        super().__init__(NAME, "2", offset=200.0)
        self.sleep, self.fail_every, self.attempts = sleep, fail_every, 0

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        self.attempts += 1
        if self.fail_every and self.attempts % self.fail_every == 0:
            raise RuntimeError("treatment model crashed")
        if self.sleep:
            time.sleep(self.sleep)
        return super().predict_trips(requests)


class Answers(OutcomeSource):
    """Actual durations of answered requests: close to the treatment's predictions (it is the better model)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def outcomes(self, request_ids: Sequence[str]) -> Any:
        wanted = set(request_ids)
        return pd.DataFrame(
            [r for r in self.rows if r["request_id"] in wanted], columns=["request_id", "predicted", "actual"]
        )


def _run(tmp_path: Path, treatment: Treatment, guardrails: tuple[Guardrail, ...]) -> dict[str, Any]:
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    registry.add("2")

    def loader(name: str, version: str) -> Predictor:
        return treatment if version == "2" else registry.load_predictor(name, version)

    clock, store = MovableClock(), FakeExperimentStore()
    exposures = SqlExposureLog(sql_engine(f"sqlite:///{tmp_path / 'experiments.db'}"), flush_seconds=3600)
    answers = Answers()
    service = Experiments(store, exposures, registry, FakeAudit(), clock, analyzer=stats_engine, outcomes=answers)
    definition = ExperimentDefinition(
        "guarded", NAME, (Arm("control", "champion", 0.5), Arm("treatment", "2", 0.5)), guardrails=guardrails
    )
    service.create(definition, actor=OPERATOR)
    service.start("guarded", actor=OPERATOR)
    traffic = ExperimentTraffic(
        store, exposures, NAME, lambda name, ref: PinnedModel(registry, name, ref, loader), clock, run_background_now
    )
    traffic.refresh()
    prediction = Prediction(PinnedModel(registry, NAME, "champion"), split=traffic)
    rng = random.Random(7)
    for i in range(UNITS):
        trip = TripRequest(pd.Timestamp("2021-02-14 08:30").to_pydatetime(), 74, 75, 1 + rng.random() * 5, 2, 1)
        try:
            served = prediction.predict([trip], [f"req-{i}"], unit_id=f"rider-{i}")
        except RuntimeError:
            continue  # the client got an error; the exposure log counted it against the arm
        actual = 200.0 + 3 * trip.trip_distance + rng.gauss(0, 2)  # the treatment (200 + 3d) is far closer
        answers.rows.append({"request_id": f"req-{i}", "predicted": served.minutes[0], "actual": actual})
    exposures.flush()
    return {"result": service.analyze("guarded"), "measures": exposures.arm_measures("guarded", "control")}


def test_without_guardrails_the_better_treatment_ships(tmp_path: Path) -> None:
    outcome = _run(tmp_path, Treatment(), ())
    assert outcome["result"].verdict is Verdict.SHIP and outcome["result"].guardrails == ()


def test_a_slow_treatment_breaches_the_p99_latency_guardrail_and_keeps_the_champion(tmp_path: Path) -> None:
    outcome = _run(tmp_path, Treatment(sleep=0.004), (Guardrail("p99_latency_ms", 2.0),))
    measures, result = outcome["measures"], outcome["result"]
    assert measures["treatment"]["p99_latency_ms"] >= 4.0 > 2.0 > measures["control"]["p99_latency_ms"]
    assert result.verdict is Verdict.KEEP_CHAMPION
    assert result.rule.startswith("guardrail failed: p99_latency_ms in treatment = ")
    [guardrail] = result.guardrails
    assert (guardrail.metric, guardrail.arm, guardrail.ok) == ("p99_latency_ms", "treatment", False)


def test_a_failing_treatment_breaches_the_error_rate_guardrail(tmp_path: Path) -> None:
    outcome = _run(tmp_path, Treatment(fail_every=10), (Guardrail("error_rate", 0.01),))
    measures, result = outcome["measures"], outcome["result"]
    assert measures["treatment"]["error_rate"] == pytest.approx(0.1, abs=0.01)  # every 10th call failed
    assert measures["control"]["error_rate"] == 0.0
    assert result.verdict is Verdict.KEEP_CHAMPION and "error_rate in treatment = 0.09" in result.rule


def test_predictions_far_from_the_control_s_breach_the_prediction_drift_guardrail(tmp_path: Path) -> None:
    # The treatment answers ~100 minutes more than the control for the same trips: a population stability
    # index far above 0.2 (the usual "major shift"), however right it is.
    outcome = _run(tmp_path, Treatment(), (Guardrail("prediction_drift", 0.2), Guardrail("error_rate", 0.05)))
    measures, result = outcome["measures"], outcome["result"]
    assert measures["treatment"]["prediction_drift"] > 5 and measures["control"]["prediction_drift"] < 0.01
    assert result.verdict is Verdict.KEEP_CHAMPION and "prediction_drift in treatment" in result.rule
    assert {(g.metric, g.ok) for g in result.guardrails} == {("prediction_drift", False), ("error_rate", True)}


def test_a_guardrail_that_is_not_measured_is_refused_when_defined() -> None:
    from tripcast.core.domain.errors import InvalidInputError
    from tripcast.mlops.ab_testing.definitions import parse_definition

    body = {"id": "x", "model": NAME, "guardrails": [{"metric": "p95_latency", "limit": 1}],
            "arms": [{"name": "a", "model": 1, "weight": 0.5}, {"name": "b", "model": 2, "weight": 0.5}]}  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        parse_definition(body)
    assert "guardrails" in str(refused.value) and "p99_latency_ms, error_rate, prediction_drift" in str(refused.value)

"""The traffic split over fakes: sticky arms, shares, shadow mirroring and the canary's steps."""

from __future__ import annotations

from dataclasses import replace

from support.fakes_experiments import FakeExperimentStore, FakeExposureLog, MovableClock, run_background_now
from support.serving_fakes import FakeRegistry
from tripcast.bootstrap.serving import PinnedModel
from tripcast.core.domain.experiment import (
    Arm,
    CanaryStep,
    Experiment,
    ExperimentDefinition,
    ExperimentMode,
    ExperimentState,
)
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.experiments import NoExperimentMetrics
from tripcast.core.services.experiments import ExperimentTraffic
from tripcast.core.services.prediction import Prediction

NAME = "trip-duration"
AB = ExperimentDefinition("ab-1", NAME, (Arm("control", "champion", 0.5), Arm("treatment", "2", 0.5)))


def world(definition: ExperimentDefinition) -> tuple[ExperimentTraffic, FakeExposureLog, MovableClock, Prediction]:
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    registry.add("2")
    store, exposures, clock = FakeExperimentStore(), FakeExposureLog(), MovableClock()
    store.save(Experiment(definition, ExperimentState.RUNNING, clock.now(), started_at=clock.now()))
    traffic = ExperimentTraffic(
        store, exposures, NAME, lambda name, ref: PinnedModel(registry, name, ref), clock, run_background_now
    )
    traffic.refresh()
    prediction = Prediction(PinnedModel(registry, NAME, "champion"), split=traffic)
    return traffic, exposures, clock, prediction


def trip(distance: float = 2.0) -> TripRequest:
    from datetime import datetime

    return TripRequest(datetime(2021, 2, 14, 8, 30), 74, 75, distance, 2, 1)


def test_a_unit_always_gets_the_same_arm_and_the_split_follows_the_weights() -> None:
    traffic, _, _, _ = world(AB)
    arms = [traffic.route(f"rider-{i}") for i in range(10_000)]
    assert all(route is not None for route in arms)
    share = sum(1 for r in arms if r is not None and r.arm == "treatment") / len(arms)
    assert abs(share - 0.5) < 0.02
    assert {traffic.route("rider-7").arm for _ in range(20)} == {arms[7].arm}  # type: ignore[union-attr]


def test_the_answering_arm_s_version_answers_and_is_exposed() -> None:
    _, exposures, _, prediction = world(AB)
    served = [prediction.predict([trip()], unit_id=f"rider-{i}") for i in range(200)]
    for s in served:
        assert s.route is not None
        assert s.model.number == ("1" if s.route.arm == "control" else "2")
        assert s.minutes == [float(s.model.number) * 100 + 6.0]
    assert len(exposures.queued) == 200
    assert {(e.arm, e.model_version) for e in exposures.queued} == {("control", "1"), ("treatment", "2")}
    assert all(e.answered for e in exposures.queued)


def test_shadow_never_changes_the_answer_and_records_unanswered_scores() -> None:
    _, exposures, _, prediction = world(replace(AB, mode=ExperimentMode.SHADOW))
    served = [prediction.predict([trip()], unit_id=f"u{i}") for i in range(50)]
    assert {s.model.number for s in served} == {"1"} and {s.minutes[0] for s in served} == {106.0}
    shadow = [e for e in exposures.queued if not e.answered]
    assert len(shadow) == 50 and {e.arm for e in shadow} == {"treatment"}
    assert {e.prediction for e in shadow} == {206.0} and {e.model_version for e in shadow} == {"2"}


def test_a_canary_moves_to_its_next_step_on_schedule() -> None:
    canary = replace(AB, mode=ExperimentMode.CANARY, canary_steps=(CanaryStep(0, 0.05), CanaryStep(600, 0.5)))
    traffic, _, clock, _ = world(canary)

    def treatment_share() -> float:
        routes = [traffic.route(f"u{i}") for i in range(4000)]
        return sum(1 for r in routes if r is not None and r.arm == "treatment") / len(routes)

    assert abs(treatment_share() - 0.05) < 0.02
    clock.advance(601)
    assert abs(treatment_share() - 0.5) < 0.03
    shares: list[dict[str, float]] = []

    class Recorder(NoExperimentMetrics):
        def experiment_shares(self, experiment: str, now: dict[str, float]) -> None:
            shares.append(now)

    traffic.metrics = Recorder()
    traffic.refresh()  # the poll reports the target the dashboard compares the observed split with
    assert shares == [{"control": 0.5, "treatment": 0.5}]


def test_stopping_ends_routing_at_the_next_refresh() -> None:
    traffic, _, _, prediction = world(AB)
    experiment = traffic.store.get("ab-1")
    traffic.store.transition(replace(experiment, state=ExperimentState.STOPPED), ExperimentState.RUNNING)
    traffic.refresh()
    served = prediction.predict([trip()], unit_id="rider-1")
    assert served.route is None and served.model.number == "1"


def test_only_the_served_version_s_rows_reach_the_drift_window() -> None:
    traffic, _, _, prediction = world(AB)
    prediction.models.require()  # the served champion, loaded as a server's is

    class Window:
        model_key = ("trip-duration", "1")

        def on_model(self, name: str, version: str) -> None:
            raise AssertionError(f"the window must not switch to {version}")

        def observe(self, rows: object, minutes: list[float]) -> None: ...

        def evaluate(self) -> None: ...

    class Rows:
        def rows(self, requests: object) -> object:
            return [[r.trip_distance] for r in requests]  # type: ignore[attr-defined]

    drifting = Prediction(prediction.models, split=traffic, drift=Window(), features=Rows())  # type: ignore[arg-type]
    served = [drifting.predict([trip()], unit_id=f"u{i}") for i in range(100)]
    by_arm = {s.route.arm: s for s in served if s.route is not None}
    assert by_arm["control"].feature_rows is not None and by_arm["treatment"].feature_rows is None
    for s in served:
        drifting.observe_drift(s)  # never asks the window to follow version 2


class LoadingHolder(PinnedModel):
    """A followed alias whose background load has not finished: ``require`` refuses until ``ready``."""

    ready = False

    def require(self):  # type: ignore[no-untyped-def]
        if not self.ready:
            from tripcast.core.domain.errors import ModelNotLoadedError

            raise ModelNotLoadedError("still loading")
        return super().require()


def test_a_replaced_experiment_exposes_nothing_until_the_new_one_s_arms_are_loaded() -> None:
    traffic, exposures, clock, prediction = world(AB)
    holders: dict[str, LoadingHolder] = {}
    registry = traffic.sources("trip-duration", "1").registry  # type: ignore[attr-defined]
    registry.add("3")

    def sources(name: str, ref: str) -> PinnedModel:
        holders[ref] = holders.get(ref) or LoadingHolder(registry, name, ref)
        return holders[ref] if ref == "3" else PinnedModel(registry, name, ref)

    traffic.sources = sources
    traffic.store.transition(replace(traffic.store.get("ab-1"), state=ExperimentState.STOPPED), ExperimentState.RUNNING)
    second = ExperimentDefinition("ab-2", NAME, (Arm("control", "1", 0.5), Arm("treatment", "3", 0.5)))
    traffic.store.save(Experiment(second, ExperimentState.RUNNING, clock.now(), started_at=clock.now()))
    traffic.refresh()  # one poll sees ab-1 stopped and ab-2 running, its treatment still loading
    served = [prediction.predict([trip()], unit_id=f"u{i}") for i in range(100)]
    assert all(s.route is None and s.model.number == "1" for s in served)
    assert exposures.queued == [] and traffic.running is None and traffic.waiting is not None
    holders["3"].ready = True
    traffic.refresh()
    served = [prediction.predict([trip()], unit_id=f"u{i}") for i in range(100)]
    assert {s.route.experiment for s in served if s.route is not None} == {"ab-2"}
    assert len(exposures.queued) == 100 and {e.arm for e in exposures.queued} == {"control", "treatment"}

"""The generic experiment replay over fakes: open-loop pacing, bounded concurrency, outcomes recorded for exactly
the answered request ids, failures counted, exposures awaited, refusals that send nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest

from support.fakes_experiments import FakeAnalyzer, FakeExperimentStore, FakeExposureLog, FakeOutcomes, MovableClock
from support.fakes_ml import FakeAudit, FakeRegistry
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.experiment import Arm, ExperimentDefinition, Exposure
from tripcast.core.ports.replay import LabelledRequest, SentRequest
from tripcast.core.services.experiment_replay import (
    ExperimentReplay,
    ReplayIncompleteError,
    ReplaySettings,
)
from tripcast.core.services.experiments import Experiments

OPERATOR = Identity("olga", Role.OPERATOR)
AB = ExperimentDefinition("ab-1", "m", (Arm("control", "1", 0.5), Arm("treatment", "2", 0.5)))


class FakeServer:
    """Answers each payload after ``latency`` seconds under a new id, exposes it on arm by parity; fails some."""

    def __init__(self, exposures: FakeExposureLog, *, latency: float = 0.002, fail: set[int] | None = None) -> None:
        self.exposures = exposures
        self.latency = latency
        self.fail = fail or set()
        self.in_flight = 0
        self.peak = 0
        self.sent_at: list[float] = []
        self.closed = False

    async def send(self, payload: object) -> SentRequest:
        index = int(str(payload))
        self.sent_at.append(time.monotonic())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            if index in self.fail:
                raise RuntimeError("HTTP 503")
            rid = f"req-{index}"
            arm = "control" if index % 2 else "treatment"
            self.exposures.record([Exposure("ab-1", arm, rid, rid, MovableClock().now(), "1")])
            return SentRequest(rid, "ab-1")
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        self.closed = True
        self.exposures.flush()  # the server's buffered exposures become durable


class FakeRecorder:
    def __init__(self, outcomes: FakeOutcomes) -> None:
        self.outcomes = outcomes
        self.recorded: dict[str, float] = {}

    def record(self, outcomes: Mapping[str, float]) -> int:
        self.recorded.update(outcomes)
        for rid, actual in outcomes.items():
            self.outcomes.known[rid] = (10.0, actual)
        return len(outcomes)


def world(*, start: bool = True, fail: set[int] | None = None, latency: float = 0.002):
    registry = FakeRegistry({"1": 3.0, "2": 2.0})
    exposures, outcomes, analyzer = FakeExposureLog(), FakeOutcomes(), FakeAnalyzer()
    service = Experiments(
        FakeExperimentStore(),
        exposures,
        registry,
        FakeAudit(),
        MovableClock(),
        analyzer=lambda: analyzer,
        outcomes=outcomes,
    )
    service.create(AB, actor=OPERATOR)
    if start:
        service.start("ab-1", actor=OPERATOR)
    server, recorder = FakeServer(exposures, fail=fail, latency=latency), FakeRecorder(outcomes)
    return ExperimentReplay(service, server, recorder, poll_seconds=0.001), server, recorder, analyzer


def labelled(n: int) -> list[LabelledRequest]:
    return [LabelledRequest(str(i), float(i)) for i in range(n)]


def test_each_answered_request_gets_its_own_outcome_and_the_experiment_is_analysed() -> None:
    replay, server, recorder, analyzer = world(fail={3, 7})
    outcome = replay.run("ab-1", labelled(40), ReplaySettings(max_in_flight=5))
    assert (outcome.sent, outcome.failed, outcome.exposed, outcome.recorded) == (40, 2, 38, 38)
    assert recorder.recorded == {f"req-{i}": float(i) for i in range(40) if i not in {3, 7}}
    assert outcome.first_error == "RuntimeError: HTTP 503"
    assert server.closed and server.peak <= 5
    assert outcome.analysis.n_per_arm == {"control": 18, "treatment": 20}  # odd ids 3 and 7 failed
    assert len(analyzer.seen) == 1


def test_the_traffic_is_open_loop_at_the_asked_rate() -> None:
    replay, server, _, _ = world(latency=0.05)  # answers slower than the pace: an open loop does not wait for them
    outcome = replay.run("ab-1", labelled(20), ReplaySettings(rate=200.0, max_in_flight=50))
    offsets = [t - server.sent_at[0] for t in server.sent_at]
    assert offsets[-1] == pytest.approx(19 / 200.0, abs=0.03)  # request i leaves at i / rate
    assert server.peak >= 5  # several were in flight at once
    assert outcome.achieved_rate > 100


def test_a_stopped_or_draft_experiment_is_refused_and_nothing_is_sent() -> None:
    replay, server, recorder, _ = world(start=False)
    with pytest.raises(InvalidInputError, match=r"'ab-1' is draft, not running: start it first"):
        replay.run("ab-1", labelled(3))
    assert server.sent_at == [] and recorder.recorded == {}


def test_bad_settings_and_nothing_to_replay_are_named() -> None:
    replay, server, _, _ = world()
    with pytest.raises(InvalidInputError) as refused:
        replay.run("ab-1", labelled(2), ReplaySettings(rate=0.0, max_in_flight=0))
    assert "--rate: must be > 0" in str(refused.value) and "max_in_flight: must be >= 1" in str(refused.value)
    with pytest.raises(InvalidInputError, match="nothing to replay"):
        replay.run("ab-1", [])
    assert server.sent_at == []


def test_exposures_the_server_never_writes_end_in_a_clear_error() -> None:
    replay, server, _, _ = world()

    async def keep_buffered() -> None:  # a server that never flushes its exposures
        server.closed = True

    server.aclose = keep_buffered  # type: ignore[method-assign]
    with pytest.raises(ReplayIncompleteError, match=r"only 0 of 4 exposures of experiment 'ab-1' were written"):
        replay.run("ab-1", labelled(4), ReplaySettings(settle_seconds=0.05))

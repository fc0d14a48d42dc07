"""Replay of recorded, labelled requests through a running experiment (issue #14 item 4).

Open-loop load: request ``i`` leaves at ``start + i / rate`` whatever the previous answers did (a closed
loop would slow down with the server and hide its latency), with at most ``max_in_flight`` outstanding.
Once every answer is in, the served requests' true outcomes are recorded for exactly the request ids that
were answered, the serving side's exposures are awaited, and the experiment is analysed by its
pre-registered rule. Generic: the requests, the sender and the recorder are injected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError
from tripcast.core.domain.experiment import AnalysisResult, ExperimentState
from tripcast.core.ports.replay import LabelledRequest, OutcomeRecorder, ReplaySender, SentRequest
from tripcast.core.services.experiments import Experiments, ExperimentStatus
from tripcast.core.services.polling import poll_until

log = logging.getLogger(__name__)


class ReplayIncompleteError(TripcastError):
    """The serving side never wrote the exposures of the replayed requests within the wait."""


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """How the traffic is paced: ``rate`` requests per second (None: as fast as ``max_in_flight`` allows)."""

    rate: float | None = None
    max_in_flight: int = 200
    #: Seconds to wait for the serving side to write the exposures of the answered requests.
    settle_seconds: float = 30.0

    def problems(self) -> list[FieldProblem]:
        """Every bad setting, named."""
        problems = []
        if self.rate is not None and not self.rate > 0:
            problems.append(FieldProblem("--rate", f"must be > 0 requests per second, got {self.rate}"))
        if self.max_in_flight < 1:
            problems.append(FieldProblem("max_in_flight", f"must be >= 1, got {self.max_in_flight}"))
        return problems


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What a replay sent and measured, and the experiment's analysis afterwards."""

    experiment_id: str
    sent: int
    failed: int
    exposed: int
    recorded: int
    seconds: float
    analysis: AnalysisResult
    #: Why the first failed request failed (None: none failed).
    first_error: str | None = None

    @property
    def achieved_rate(self) -> float:
        """Requests per second actually sent."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, object]:
        """The replay's own figures (the analysis is reported separately)."""
        return {
            "experiment": self.experiment_id,
            "sent": self.sent,
            "failed": self.failed,
            "exposed": self.exposed,
            "outcomes_recorded": self.recorded,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.achieved_rate, 1),
            "first_error": self.first_error,
        }


def ensure_replayable(experiments: Experiments, experiment_id: str, settings: ReplaySettings) -> ExperimentStatus:
    """The experiment's status when a replay may run through it; InvalidInputError naming every reason otherwise.

    Cheap: callers check before loading the requests or the models.
    """
    problems = settings.problems()
    status = experiments.status(experiment_id)
    state = status.experiment.state
    if state is not ExperimentState.RUNNING:
        problems.append(
            FieldProblem(
                "experiment",
                f"experiment {experiment_id!r} is {state.value}, not running: "
                f"start it first (tripcast experiments start {experiment_id})",
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return status


class ExperimentReplay:
    """Replays labelled requests through a running experiment, records their outcomes, analyses it."""

    def __init__(
        self,
        experiments: Experiments,
        sender: ReplaySender,
        recorder: OutcomeRecorder,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        poll_seconds: float = 0.2,
    ) -> None:
        self.experiments = experiments
        self.sender = sender
        self.recorder = recorder
        self.monotonic = monotonic
        self.poll_seconds = poll_seconds

    def run(
        self, experiment_id: str, requests: Sequence[LabelledRequest], settings: ReplaySettings | None = None
    ) -> ReplayOutcome:
        """Send ``requests`` as timed traffic, record the outcomes of those answered, analyse the experiment."""
        settings = settings or ReplaySettings()
        if not requests:
            raise InvalidInputError([FieldProblem("requests", "nothing to replay (no valid labelled request)")])
        status = ensure_replayable(self.experiments, experiment_id, settings)
        before = sum(status.exposures.values())
        started = self.monotonic()
        errors: list[str] = []
        answers = asyncio.run(self._send_all(requests, settings, errors))
        seconds = self.monotonic() - started
        answered = {i: a for i, a in enumerate(answers) if a is not None}
        exposed = sum(1 for a in answered.values() if a.experiment == experiment_id)
        log.info("replayed %d requests in %.1f s (%d failed)", len(requests), seconds, len(requests) - len(answered))
        recorded = self.recorder.record({a.request_id: requests[i].outcome for i, a in answered.items()})
        self._await_exposures(experiment_id, before + exposed, settings.settle_seconds)
        analysis = self.experiments.analyze(experiment_id)
        failed = len(requests) - len(answered)
        first_error = errors[0] if errors else None
        return ReplayOutcome(experiment_id, len(requests), failed, exposed, recorded, seconds, analysis, first_error)

    async def _send_all(
        self, requests: Sequence[LabelledRequest], settings: ReplaySettings, errors: list[str]
    ) -> list[SentRequest | None]:
        gate = asyncio.Semaphore(settings.max_in_flight)
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(request: LabelledRequest) -> SentRequest | None:
            try:
                return await self.sender.send(request.payload)
            except Exception as exc:  # noqa: BLE001 - a failed request is counted, never fatal (load shedding)
                errors.append(f"{type(exc).__name__}: {exc}")
                return None
            finally:
                gate.release()

        tasks = []
        try:
            for i, request in enumerate(requests):
                if settings.rate is not None:
                    delay = start + i / settings.rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await gate.acquire()  # open loop, bounded: a stalled server cannot pile up unbounded requests
                tasks.append(asyncio.create_task(one(request)))
            return list(await asyncio.gather(*tasks))
        finally:
            await self.sender.aclose()

    def _await_exposures(self, experiment_id: str, expected: int, settle_seconds: float) -> None:
        """Wait until the serving side has written the exposures of every routed request (it buffers them)."""
        written, complete = poll_until(
            lambda: sum(self.experiments.status(experiment_id).exposures.values()),
            lambda count: count >= expected,
            seconds=settle_seconds,
            every=self.poll_seconds,
            monotonic=self.monotonic,
        )
        if not complete:
            raise ReplayIncompleteError(
                f"only {written} of {expected} exposures of experiment {experiment_id!r} were written "
                f"within {settle_seconds:g} s; is the server flushing them (TRIPCAST_EXPOSURE_FLUSH_SECONDS)?"
            )

"""In-memory fakes of the experiment ports (store, exposure log, outcomes, analyzer) and a movable clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.experiment import (
    AnalysisResult,
    Experiment,
    ExperimentConflictError,
    ExperimentDefinition,
    ExperimentState,
    Exposure,
    GuardrailResult,
    Verdict,
)
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.experiment_analysis import ExperimentAnalyzer
from tripcast.core.ports.experiments import ExperimentStore, ExposureLog, OutcomeSource
from tripcast.core.ports.table import Table


class MovableClock(Clock):
    """A clock tests move forward."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class FakeExperimentStore(ExperimentStore):
    def __init__(self) -> None:
        self.rows: dict[str, Experiment] = {}

    def save(self, experiment: Experiment) -> None:
        if experiment.definition.experiment_id in self.rows:
            raise ExperimentConflictError("exists")
        self.rows[experiment.definition.experiment_id] = experiment

    def get(self, experiment_id: str) -> Experiment:
        if experiment_id not in self.rows:
            raise NotFoundError(f"no experiment {experiment_id!r}")
        return self.rows[experiment_id]

    def list(self, state: ExperimentState | None = None, model_name: str | None = None) -> list[Experiment]:
        return [
            e
            for e in self.rows.values()
            if (state is None or e.state is state) and (model_name is None or e.definition.model_name == model_name)
        ]

    def transition(self, updated: Experiment, expected: ExperimentState) -> Experiment:
        if self.get(updated.definition.experiment_id).state is not expected:
            raise ExperimentConflictError("changed")
        self.rows[updated.definition.experiment_id] = updated
        return updated


class FakeExposureLog(ExposureLog):
    def __init__(self) -> None:
        self.queued: list[Exposure] = []
        self.written: list[Exposure] = []
        self.closed = False

    def record(self, exposures: Sequence[Exposure]) -> None:
        self.queued.extend(exposures)

    def flush(self) -> int:
        n = len(self.queued)
        self.written.extend(self.queued)
        self.queued.clear()
        return n

    def count(self, experiment_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.written:
            if e.experiment_id == experiment_id:
                counts[e.arm] = counts.get(e.arm, 0) + 1
        return counts

    def request_ids(self, experiment_id: str) -> list[str]:
        return sorted({e.request_id for e in self.written if e.experiment_id == experiment_id and e.answered})

    def observations(self, experiment_id: str, outcomes: Table) -> Table:
        known: dict[str, tuple[float, float]] = outcomes  # type: ignore[assignment]
        return [
            {"arm": e.arm, "unit_id": e.unit_id, "outcome": abs(known[e.request_id][0] - known[e.request_id][1])}
            for e in self.written
            if e.experiment_id == experiment_id and e.request_id in known
        ]

    def arm_measures(self, experiment_id: str, control_arm: str) -> dict[str, dict[str, float]]:
        import pandas as pd

        from tripcast.mlops.ab_testing.guardrails import arm_measures

        rows = [
            {"arm": e.arm, "prediction": e.prediction, "latency_ms": e.latency_ms, "error": e.error}
            for e in self.written
            if e.experiment_id == experiment_id
        ]
        return arm_measures(pd.DataFrame(rows, columns=["arm", "prediction", "latency_ms", "error"]), control_arm)

    def close(self) -> None:
        self.flush()
        self.closed = True


class FakeOutcomes(OutcomeSource):
    """request id -> (predicted, actual)."""

    def __init__(self, known: dict[str, tuple[float, float]] | None = None) -> None:
        self.known = dict(known or {})

    def outcomes(self, request_ids: Sequence[str]) -> Table:
        return {rid: self.known[rid] for rid in request_ids if rid in self.known}


@dataclass
class FakeAnalyzer(ExperimentAnalyzer):
    seen: list[Any] = field(default_factory=list)

    def analyze(
        self, definition: ExperimentDefinition, observations: Table, guardrails: tuple[GuardrailResult, ...] = ()
    ) -> AnalysisResult:
        self.seen.append(observations)
        n = {arm.name: sum(1 for o in observations if o["arm"] == arm.name) for arm in definition.arms}  # type: ignore[attr-defined]
        return AnalysisResult(definition.experiment_id, Verdict.CONTINUE, 0.5, -1.0, 2.0, 0.9, n, "fake rule")

    def sample_size(self, definition: ExperimentDefinition, baseline_mean: float, baseline_std: float) -> int:
        return 1234


def run_background_now(task: Callable[[], None]) -> bool:
    """A background runner that runs the task at once (deterministic shadow tests)."""
    task()
    return True

"""Ports of experiments: where definitions and their states live, where exposures go, where outcomes come from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from tripcast.core.domain.experiment import Experiment, ExperimentState, Exposure
from tripcast.core.ports.table import Table

#: Columns of :meth:`OutcomeSource.outcomes`: one row per request whose actual outcome is known.
OUTCOME_COLUMNS = ("request_id", "predicted", "actual")


class ExperimentStore(ABC):
    """Experiment definitions and their states; a state change is a compare-and-set (two operators racing to
    start the same experiment: one wins, the other gets ExperimentConflictError)."""

    @abstractmethod
    def save(self, experiment: Experiment) -> None:
        """Insert a new experiment; ExperimentConflictError when its id exists."""

    @abstractmethod
    def get(self, experiment_id: str) -> Experiment:
        """The experiment, or NotFoundError."""

    @abstractmethod
    def list(self, state: ExperimentState | None = None, model_name: str | None = None) -> list[Experiment]:
        """Experiments (optionally in one state, of one model), oldest first."""

    @abstractmethod
    def transition(self, updated: Experiment, expected: ExperimentState) -> Experiment:
        """Store ``updated`` only if the stored state is still ``expected``; ExperimentConflictError otherwise."""


class ExposureLog(ABC):
    """Exposures, appended cheaply on the serving path and written durably in batches."""

    @abstractmethod
    def record(self, exposures: Sequence[Exposure]) -> None:
        """Queue exposures for writing (never blocks on I/O)."""

    @abstractmethod
    def flush(self) -> int:
        """Write everything queued; returns the rows written. Rows are durable once it returns."""

    @abstractmethod
    def count(self, experiment_id: str) -> dict[str, int]:
        """Written exposures per arm (answered and shadow alike)."""

    @abstractmethod
    def request_ids(self, experiment_id: str) -> list[str]:
        """The distinct request ids exposed in the experiment."""

    @abstractmethod
    def observations(self, experiment_id: str, outcomes: Table) -> Table:
        """Exposures joined to ``outcomes`` (:data:`OUTCOME_COLUMNS`) as the analyzer's observation table:
        one row per unit and arm, its outcome the mean absolute error of its requests (a shadow arm's error
        is its own prediction against the actual). InvalidInputError when no exposure has an outcome yet."""

    @abstractmethod
    def arm_measures(self, experiment_id: str, control_arm: str) -> dict[str, dict[str, float]]:
        """Per arm, the guardrail metrics (:data:`~tripcast.core.domain.experiment.GUARDRAIL_METRICS`) measured
        from its written exposures (prediction drift: against ``control_arm``'s predictions), and ``requests``;
        NaN where nothing was measured (no latency recorded, no prediction)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and stop the writer."""


class OutcomeSource(ABC):
    """Actual outcomes of served requests (the prediction log once actuals arrived)."""

    @abstractmethod
    def outcomes(self, request_ids: Sequence[str]) -> Table:
        """Rows (:data:`OUTCOME_COLUMNS`) of the requests among ``request_ids`` whose actual is known."""


class ExperimentMetrics(Protocol):
    """What a serving process's traffic split reports (Prometheus in a server; nothing elsewhere)."""

    def experiment_exposed(self, experiment: str, arm: str, count: int) -> None:
        """``count`` exposures of ``arm`` were queued (answered or shadow-scored)."""

    def experiment_fallback(self, experiment: str, reason: str) -> None:
        """A request of a running experiment was answered by the served model, with no exposure recorded."""

    def experiment_arms(self, experiment: str, loaded: int, arms: dict[str, str]) -> None:
        """``loaded`` of the experiment's arms are loaded; ``arms`` maps each loaded arm to its model version
        (empty while waiting, and after the experiment stops)."""

    def experiment_shares(self, experiment: str, shares: dict[str, float]) -> None:
        """The share of the experiment's exposures each arm should get now (a canary's moves with its steps;
        every arm of a shadow test scores every request); empty once it is no longer served."""


class NoExperimentMetrics:
    """Reports nothing (tests, the CLI's in-process replay)."""

    def experiment_exposed(self, experiment: str, arm: str, count: int) -> None:
        """Nothing."""

    def experiment_fallback(self, experiment: str, reason: str) -> None:
        """Nothing."""

    def experiment_arms(self, experiment: str, loaded: int, arms: dict[str, str]) -> None:
        """Nothing."""

    def experiment_shares(self, experiment: str, shares: dict[str, float]) -> None:
        """Nothing."""

"""Ports of automated retraining: triggers, the run-state store, data preparation, live error and alerts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import Alert, RetrainRun, TriggerResult


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """What a trigger may look at: the model, the month that arrived, the champion, the last retrained month."""

    model: str
    month: Month
    champion: ModelVersion | None
    last_retrained: Month | None
    rows_valid: int


class RetrainTrigger(ABC):
    """One reason to retrain; it says whether it fired and why."""

    name: str

    @abstractmethod
    def check(self, context: TriggerContext) -> TriggerResult:
        """The verdict for ``context`` (never raises for missing evidence: it says so and does not fire)."""


class RunStateStore(ABC):
    """Durable run records keyed by (model, month): what makes a run idempotent and resumable."""

    @abstractmethod
    def get(self, model: str, month: str) -> RetrainRun | None:
        """The run of ``month``, or None."""

    @abstractmethod
    def save(self, run: RetrainRun) -> None:
        """Insert or replace the run of (run.model, run.month)."""

    @abstractmethod
    def runs(self, model: str, limit: int = 50) -> list[RetrainRun]:
        """The newest ``limit`` runs of ``model``, newest month first."""


class MonthPreparation(ABC):
    """Ingest and validate months so their processed rows exist (the data pipeline up to validation)."""

    @abstractmethod
    def prepare(self, month: Month, source: str | None = None) -> int:
        """Make ``month`` processed (from ``source`` when given) and return its valid row count."""

    @abstractmethod
    def available(self, month: Month) -> bool:
        """Whether ``month`` is processed or its raw data can be read without downloading."""

    @abstractmethod
    def newest_available(self) -> Month | None:
        """The newest month with data on hand (what ``tripcast retrain watch`` looks at)."""


class LiveError(Protocol):
    """One version's live error (from :meth:`tripcast.core.services.feedback.Feedback.live_error`)."""

    @property
    def n(self) -> int:
        """Labeled predictions."""
        ...

    @property
    def rmse(self) -> float:
        """Root mean squared error of the predictions against their outcomes."""
        ...


class LiveErrors(Protocol):
    """Live error per version, from ground-truth feedback."""

    def live_error(self, model_version: str, *, since: datetime | None = None) -> LiveError | None:
        """Live error of one version, None without outcomes."""
        ...


class Alerter(ABC):
    """Delivers an alert to whoever is on call."""

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver ``alert``; raise only when no channel at all took it."""

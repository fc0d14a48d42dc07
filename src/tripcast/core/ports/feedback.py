"""Ports of ground-truth feedback: the served-prediction log, the actual outcomes, replays and live metrics.

Predictions are logged when served (cheaply: the serving path only hands them over); the actual outcomes
arrive later and are joined to them by request id. Nothing here knows about taxis: a logged prediction
carries a ``segment`` (a slice label such as a borough) computed by whatever the composition root injects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class LoggedPrediction:
    """One served prediction, as the log keeps it."""

    request_id: str
    model_name: str
    model_version: str
    features_digest: str
    segment: str
    zone: int | None
    predicted_minutes: float
    predicted_at: datetime


@dataclass(frozen=True, slots=True)
class Actual:
    """The outcome of a request, known later (the trip ended)."""

    request_id: str
    actual_minutes: float


@dataclass(frozen=True, slots=True)
class LabeledPrediction:
    """A logged prediction joined to its actual outcome: one row of live error."""

    request_id: str
    model_version: str
    segment: str
    predicted_minutes: float
    actual_minutes: float
    predicted_at: datetime


class PredictionLog(Protocol):
    """Where the prediction use case hands each served prediction; ``append`` must be cheap."""

    def append(
        self,
        model_name: str,
        model_version: str,
        request_ids: Sequence[str],
        requests: Sequence[TripRequest],
        minutes: Sequence[float],
    ) -> None:
        """Queue the predictions for durable writing (never blocks on I/O)."""

    def flush(self) -> int:
        """Write everything queued so far; returns the rows written. Rows are durable once it returns."""

    def close(self) -> None:
        """Flush and stop the writer."""


class PredictionLogStore(Protocol):
    """The durable prediction log with the actual outcomes joined in (SQL: SQLite or PostgreSQL)."""

    def write(self, predictions: Sequence[LoggedPrediction]) -> int:
        """Insert predictions whose request id is new, in one transaction; returns how many were new."""

    def known_ids(self, request_ids: Sequence[str]) -> set[str]:
        """Which of ``request_ids`` are logged."""

    def record_actuals(self, actuals: Sequence[Actual], at: datetime) -> int:
        """Set the actual outcome of each (logged) request id, all in one transaction; returns rows set."""

    def labeled(self, model_name: str, since: datetime | None = None) -> list[LabeledPrediction]:
        """Logged predictions of ``model_name`` that have an actual outcome (predicted at or after ``since``)."""

    def decay_tables(self, model_name: str, model_version: str, since: datetime | None = None) -> tuple[Table, Table]:
        """(predictions: request_id, prediction, predicted_at; actuals: request_id, actual) of one version."""

    def count(self) -> int:
        """Rows in the log."""


class ActualsReader(Protocol):
    """Reads a file of actual outcomes (columns ``request_id``, ``actual_minutes``)."""

    def read(self, location: str) -> list[Actual]:
        """Every row of the file; InvalidInputError naming the file when a column is missing."""


@dataclass(frozen=True, slots=True)
class ReplayedMonth:
    """A month run through a model version: its predictions and their actual outcomes."""

    model_name: str
    model_version: str
    predictions: list[LoggedPrediction]
    actuals: list[Actual]
    dataset_digest: str


class MonthReplayer(Protocol):
    """Runs a month's valid trips through a registered version, as if each had been served."""

    def replay(self, month: Month, model_ref: str) -> ReplayedMonth:
        """Predictions (request ids ``replay:<month>:<row>``, time = pickup) and the trips' actual outcomes."""


class FeedbackGauges(Protocol):
    """Publishes live error (RMSE, MAE, ratio to validation) as gauges, e.g. Prometheus."""

    def publish(self, report: Any) -> None:
        """Set the gauges from a :class:`tripcast.core.services.feedback.FeedbackReport`."""

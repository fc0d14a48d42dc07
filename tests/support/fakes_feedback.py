"""In-memory fakes of the feedback ports (tripcast.core.ports.feedback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import Actual, LabeledPrediction, LoggedPrediction, ReplayedMonth
from tripcast.core.services.drift import DecayRequest


class MemoryLogStore:
    """The prediction log as a dict; ``actuals`` per request id."""

    def __init__(self) -> None:
        self.rows: dict[str, LoggedPrediction] = {}
        self.actuals: dict[str, float] = {}

    def write(self, predictions: Sequence[LoggedPrediction]) -> int:
        new = [p for p in predictions if p.request_id not in self.rows]
        self.rows.update({p.request_id: p for p in new})
        return len(new)

    def known_ids(self, request_ids: Sequence[str]) -> set[str]:
        return {i for i in request_ids if i in self.rows}

    def record_actuals(self, actuals: Sequence[Actual], at: datetime) -> int:
        self.actuals.update({a.request_id: a.actual_minutes for a in actuals})
        return len(actuals)

    def labeled(self, model_name: str, since: datetime | None = None) -> list[LabeledPrediction]:
        return [
            LabeledPrediction(
                p.request_id,
                p.model_version,
                p.segment,
                p.predicted_minutes,
                self.actuals[p.request_id],
                p.predicted_at,
            )
            for p in self.rows.values()
            if p.model_name == model_name
            and p.request_id in self.actuals
            and (since is None or p.predicted_at >= since)
        ]

    def decay_tables(self, model_name: str, model_version: str, since: datetime | None = None) -> tuple[Any, Any]:
        rows = [r for r in self.labeled(model_name, since) if r.model_version == model_version]
        return ([(r.request_id, r.predicted_minutes) for r in rows], [(r.request_id, r.actual_minutes) for r in rows])

    def count(self) -> int:
        return len(self.rows)


class ListActualsReader:
    """Files are names in a dict of outcome lists."""

    def __init__(self, files: dict[str, list[Actual]]) -> None:
        self.files = files

    def read(self, location: str) -> list[Actual]:
        return list(self.files[location])


class FixedReplayer:
    """Replays any month into the given predictions/outcomes."""

    def __init__(self, predictions: list[LoggedPrediction], actuals: list[Actual]) -> None:
        self.predictions = predictions
        self.actuals = actuals
        self.calls: list[tuple[Month, str]] = []

    def replay(self, month: Month, model_ref: str) -> ReplayedMonth:
        self.calls.append((month, model_ref))
        version = self.predictions[0].model_version if self.predictions else "1"
        return ReplayedMonth("trip-duration", version, self.predictions, self.actuals, "digest-1")


@dataclass(frozen=True)
class FakeVerdict:
    decayed: bool
    n_joined: int
    latest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"decayed": self.decayed}


class RatioDecayCheck:
    """Decayed when the live RMSE of the joined rows exceeds ``validation_rmse[version]`` by the tolerance."""

    def __init__(self, validation_rmse: dict[str, float]) -> None:
        self.validation_rmse = validation_rmse
        self.requests: list[DecayRequest] = []

    def check_decay(self, request: DecayRequest) -> FakeVerdict:
        self.requests.append(request)
        if request.reference not in self.validation_rmse:
            raise NotFoundError(f"v{request.reference} has no val_rmse metric")
        actual = dict(request.actuals)
        errors = [p - actual[rid] for rid, p in request.predictions]
        rmse = (sum(e * e for e in errors) / len(errors)) ** 0.5
        ratio = rmse / self.validation_rmse[request.reference]
        return FakeVerdict(ratio > 1 + request.tolerance, len(errors), {"rmse": rmse, "rmse_ratio": ratio})


class RecordingGauges:
    def __init__(self) -> None:
        self.reports: list[Any] = []

    def publish(self, report: Any) -> None:
        self.reports.append(report)


class ListPredictionLog:
    """The PredictionLog port as a list of appended batches."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[tuple[str, str, tuple[str, ...], list[TripRequest], list[float]]] = []
        self.fail = fail

    def append(
        self,
        model_name: str,
        model_version: str,
        request_ids: Sequence[str],
        requests: Sequence[TripRequest],
        minutes: Sequence[float],
    ) -> None:
        if self.fail:
            raise OSError("disk full")
        self.batches.append((model_name, model_version, tuple(request_ids), list(requests), list(minutes)))

    def flush(self) -> int:
        return 0

    def close(self) -> None:
        """Nothing to release."""


def logged(request_id: str, version: str, segment: str, minutes: float, at: datetime) -> LoggedPrediction:
    """A logged prediction of ``trip-duration``."""
    return LoggedPrediction(request_id, "trip-duration", version, "d" * 16, segment, None, minutes, at)

"""Ground-truth feedback: actual outcomes joined to logged predictions, live error and concept drift.

``ingest`` reads a file of actual outcomes and records them against the logged predictions in one
transaction; a file with an unknown request id, a duplicate, or a negative or non-finite duration is
refused whole in one line, nothing recorded. ``replay`` runs a month through a version when no logs exist
(its predictions and their outcomes are recorded together). ``report`` gives live RMSE/MAE per version,
per segment (e.g. borough) and per time window, and each version's concept drift (live error against its
validation RMSE, judged by the drift area's decay check, not new statistics here).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.drift import DecayVerdict
from tripcast.core.ports.feedback import (
    Actual,
    ActualsReader,
    FeedbackGauges,
    LabeledPrediction,
    MonthReplayer,
    PredictionLogStore,
)
from tripcast.core.services.drift import DecayRequest

#: The audit action of recorded outcomes (a file or a replayed month).
FEEDBACK_INGESTED = "feedback.ingested"
#: Time windows ``report`` groups by.
WINDOWS = ("hour", "day", "week")


class DecayCheck(Protocol):
    """The drift area's concept-drift judge (:meth:`tripcast.core.services.drift.DriftMonitoring.check_decay`)."""

    def check_decay(self, request: DecayRequest) -> DecayVerdict:
        """Live error windows of one version against its validation RMSE."""


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What one ingest recorded."""

    source: str
    rows: int
    predictions_logged: int
    versions: list[str]


@dataclass(frozen=True, slots=True)
class ErrorSlice:
    """Live error of one slice: a version, optionally a segment or a time window."""

    model_version: str
    n: int
    rmse: float
    mae: float
    bias: float
    segment: str | None = None
    window_start: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    """Live error of every version with outcomes, sliced, and each version's concept-drift verdict."""

    model_name: str
    window: str
    by_version: list[ErrorSlice]
    by_segment: list[ErrorSlice]
    by_window: list[ErrorSlice]
    decay: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "window": self.window,
            "by_version": [s.to_dict() for s in self.by_version],
            "by_segment": [s.to_dict() for s in self.by_segment],
            "by_window": [s.to_dict() for s in self.by_window],
            "decay": self.decay,
        }


class Feedback:
    """Records actual outcomes against logged predictions and reports live error (model ``model_name``)."""

    def __init__(
        self,
        *,
        model_name: str,
        store: PredictionLogStore,
        reader: ActualsReader,
        replayer: MonthReplayer | None,
        decay: DecayCheck | None,
        gauges: FeedbackGauges | None,
        audit: AuditLog,
        clock: Clock,
        tolerance: float = 0.2,
        window_rows: int = 1000,
    ) -> None:
        self.model_name = model_name
        self.store = store
        self.reader = reader
        self.replayer = replayer
        self.decay = decay
        self.gauges = gauges
        self.audit = audit
        self.clock = clock
        self.tolerance = tolerance
        self.window_rows = window_rows

    # ----------------------------------------------------------------- use cases
    def ingest(self, location: str, *, actor: str = "tripcast") -> IngestOutcome:
        """Record the outcomes in the file at ``location``; all or nothing (InvalidInputError names why)."""
        actuals = self.reader.read(location)
        if not actuals:
            raise InvalidInputError([FieldProblem(location, "no outcome rows: nothing recorded")])
        problems = _actual_problems(actuals)
        unknown = sorted({a.request_id for a in actuals} - self.store.known_ids([a.request_id for a in actuals]))
        if unknown:
            problems.append(_sample(f"{len(unknown)} unknown request id(s)", unknown))
        if problems:
            raise InvalidInputError([FieldProblem(location, "; ".join(problems) + "; nothing recorded")])
        recorded = self.store.record_actuals(actuals, self.clock.now())
        outcome = IngestOutcome(location, recorded, 0, [])
        self._audit(actor, outcome)
        return outcome

    def replay(self, month: Month, *, model_ref: str = "champion", actor: str = "tripcast") -> IngestOutcome:
        """Run ``month`` through the version ``model_ref`` names and record predictions and outcomes."""
        if self.replayer is None:
            raise TripcastError("no month replayer is configured here")
        replayed = self.replayer.replay(month, model_ref)
        if not replayed.predictions:
            raise InvalidInputError([FieldProblem("month", f"{month} has no valid rows to replay; nothing recorded")])
        problems = _actual_problems(replayed.actuals)
        if problems:
            raise InvalidInputError([FieldProblem(f"month {month}", "; ".join(problems) + "; nothing recorded")])
        logged = self.store.write(replayed.predictions)
        recorded = self.store.record_actuals(replayed.actuals, self.clock.now())
        outcome = IngestOutcome(f"replay:{month}", recorded, logged, [replayed.model_version])
        self._audit(actor, outcome, {"month": str(month), "dataset_digest": replayed.dataset_digest})
        return outcome

    def report(self, *, window: str = "day", since: datetime | None = None) -> FeedbackReport:
        """Live RMSE/MAE per version, segment and time window, and each version's decay verdict."""
        if window not in WINDOWS:
            raise InvalidInputError([FieldProblem("window", f"must be one of {', '.join(WINDOWS)}, got {window!r}")])
        rows = self.store.labeled(self.model_name, since)
        report = FeedbackReport(
            self.model_name,
            window,
            by_version=_slices(rows, lambda r: (r.model_version, None, None)),
            by_segment=_slices(rows, lambda r: (r.model_version, r.segment, None)),
            by_window=_slices(rows, lambda r: (r.model_version, None, _window_start(r.predicted_at, window))),
            decay=self._decay({r.model_version for r in rows}, since),
        )
        if self.gauges is not None:
            self.gauges.publish(report)
        return report

    def live_error(self, model_version: str, *, since: datetime | None = None) -> ErrorSlice | None:
        """Live error of one version (predictions served at or after ``since``), None without outcomes yet.

        What a guardrail compares after a promotion: the new champion's live error against the previous one's.
        """
        rows = [r for r in self.store.labeled(self.model_name, since) if r.model_version == model_version]
        slices = _slices(rows, lambda r: (r.model_version, None, None))
        return slices[0] if slices else None

    # ----------------------------------------------------------------- helpers
    def _decay(self, versions: Iterable[str], since: datetime | None) -> dict[str, dict[str, Any]]:
        """Each version's concept-drift verdict; a version the judge cannot assess says why instead."""
        if self.decay is None:
            return {}
        verdicts: dict[str, dict[str, Any]] = {}
        for version in sorted(versions, key=_version_key):
            predictions, actuals = self.store.decay_tables(self.model_name, version, since)
            request = DecayRequest(
                predictions, actuals, reference=version, tolerance=self.tolerance, window_rows=self.window_rows
            )
            try:
                verdict = self.decay.check_decay(request)
            except TripcastError as exc:  # e.g. a version without a validation RMSE: reported, not fatal
                verdicts[version] = {"error": str(exc)}
                continue
            verdicts[version] = {"decayed": verdict.decayed, "n_joined": verdict.n_joined, "latest": verdict.latest}
        return verdicts

    def _audit(self, actor: str, outcome: IngestOutcome, extra: dict[str, str] | None = None) -> None:
        details = {
            "source": outcome.source,
            "rows": str(outcome.rows),
            "predictions_logged": str(outcome.predictions_logged),
        }
        details.update(extra or {})
        self.audit.record(AuditEvent(self.clock.now(), actor, FEEDBACK_INGESTED, f"model:{self.model_name}", details))


def _actual_problems(actuals: Sequence[Actual]) -> list[str]:
    """Sentences naming every kind of bad outcome row (negative, non-finite, duplicate ids)."""
    problems: list[str] = []
    negative = [a.request_id for a in actuals if math.isfinite(a.actual_minutes) and a.actual_minutes < 0]
    if negative:
        problems.append(_sample(f"{len(negative)} negative actual_minutes", negative))
    not_finite = [a.request_id for a in actuals if not math.isfinite(a.actual_minutes)]
    if not_finite:
        problems.append(_sample(f"{len(not_finite)} missing or non-finite actual_minutes", not_finite))
    seen: set[str] = set()
    duplicates = sorted({a.request_id for a in actuals if a.request_id in seen or seen.add(a.request_id)})  # type: ignore[func-returns-value]
    if duplicates:
        problems.append(_sample(f"{len(duplicates)} duplicate request id(s)", duplicates))
    return problems


def _sample(what: str, ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in list(ids)[:3])
    return f"{what} (e.g. {shown})"


def _slices(rows: Sequence[LabeledPrediction], key: Any) -> list[ErrorSlice]:
    """RMSE, MAE and bias (prediction - actual) of the rows grouped by ``key(row)``."""
    groups: dict[tuple[str, str | None, str | None], list[float]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row.predicted_minutes - row.actual_minutes)
    slices = []
    for (version, segment, window), errors in groups.items():
        n = len(errors)
        slices.append(
            ErrorSlice(
                model_version=version,
                n=n,
                rmse=math.sqrt(sum(e * e for e in errors) / n),
                mae=sum(abs(e) for e in errors) / n,
                bias=sum(errors) / n,
                segment=segment,
                window_start=window,
            )
        )
    return sorted(slices, key=lambda s: (_version_key(s.model_version), s.segment or "", s.window_start or ""))


def _window_start(at: datetime, window: str) -> str:
    start = at.replace(minute=0, second=0, microsecond=0)
    if window in ("day", "week"):
        start = start.replace(hour=0)
    if window == "week":
        start = start.fromordinal(start.toordinal() - start.weekday())
    return start.isoformat()


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (10**9, version)

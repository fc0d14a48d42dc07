"""Automated retraining: what fired, which stage a month's run reached, what was decided, and the policy.

Generic: months, datasets, versions and metrics only; nothing here knows what the model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tripcast.core.domain.errors import TripcastError


class RetrainStage(StrEnum):
    """How far a month's run got; a rerun resumes after the last stage recorded."""

    STARTED = "started"
    TRAINED = "trained"
    EVALUATED = "evaluated"
    DECIDED = "decided"


class RetrainDecision(StrEnum):
    """What a run decided (``DecisionMode`` says what a passing challenger leads to)."""

    PROMOTED = "promoted"
    APPROVAL_REQUESTED = "approval_requested"
    EXPERIMENT_REQUIRED = "experiment_required"
    CHAMPION_KEPT = "champion_kept"
    NO_TRIGGER = "no_trigger"


class DecisionMode(StrEnum):
    """The policy's answer to a challenger that passes the gate."""

    AUTO_PROMOTE = "auto_promote"
    REQUEST_APPROVAL = "request_approval"
    EXPERIMENT = "experiment"


class GuardScope(StrEnum):
    """Which champion moves the guardrail watches: automatic (retraining) promotions only, or any promotion."""

    AUTOMATIC = "automatic"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """One trigger's verdict: whether it fired, why (one sentence) and the numbers behind it."""

    name: str
    fired: bool
    why: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "fired": self.fired, "why": self.why, "evidence": dict(self.evidence)}


@dataclass(frozen=True, slots=True)
class RetrainingPolicy:
    """An environment's retraining policy (``environments/<env>/retraining_policy.yaml``)."""

    environment: str
    window_months: int = 2
    decision: DecisionMode = DecisionMode.AUTO_PROMOTE
    drift_trigger: bool = True
    live_error_trigger: bool = True
    #: Live RMSE / validation RMSE of the champion above which the live-error trigger fires.
    live_error_max_ratio: float = 1.2
    live_error_min_rows: int = 100
    schedule_trigger: bool = True
    new_data_trigger: bool = True
    new_data_min_rows: int = 10_000
    guard_scope: GuardScope = GuardScope.AUTOMATIC
    #: The new champion's live RMSE may exceed the previous champion's by this fraction before a rollback.
    guard_margin: float = 0.1
    guard_min_rows: int = 500
    #: Decision ``experiment``: start the A/B test of champion vs challenger at once (False: leave a draft).
    experiment_start: bool = True
    #: The challenger's share of the experiment's traffic, and the experiment's minimum detectable effect.
    experiment_treatment_share: float = 0.5
    experiment_minimum_detectable_effect: float = 0.05


@dataclass(frozen=True, slots=True)
class RetrainRun:
    """The durable record of one (model, month) run: the stage reached and everything decided so far."""

    model: str
    month: str
    stage: RetrainStage
    started_at: datetime
    updated_at: datetime
    actor: str
    triggers: tuple[TriggerResult, ...] = ()
    window: tuple[str, ...] = ()
    rows_valid: int = 0
    challenger_version: str = ""
    champion_version: str = ""
    evaluation_data: dict[str, Any] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    gate_passed: bool = False
    gate_reason: str = ""
    decision: str = ""
    decision_detail: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def at(self, stage: RetrainStage, when: datetime, **changes: Any) -> RetrainRun:
        """This run moved on to ``stage`` at ``when``, with ``changes``."""
        return replace(self, stage=stage, updated_at=when, **changes)

    @property
    def fired(self) -> list[TriggerResult]:
        """The triggers that fired."""
        return [t for t in self.triggers if t.fired]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``tripcast retrain run --json``, the run-state store)."""
        return {
            "model": self.model,
            "month": self.month,
            "stage": self.stage.value,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "actor": self.actor,
            "triggers": [t.to_dict() for t in self.triggers],
            "window": list(self.window),
            "rows_valid": self.rows_valid,
            "challenger_version": self.challenger_version,
            "champion_version": self.champion_version,
            "evaluation_data": dict(self.evaluation_data),
            "champion_metrics": dict(self.champion_metrics),
            "challenger_metrics": dict(self.challenger_metrics),
            "gate_passed": self.gate_passed,
            "gate_reason": self.gate_reason,
            "decision": self.decision,
            "decision_detail": self.decision_detail,
            "stage_seconds": dict(self.stage_seconds),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrainRun:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["stage"] = RetrainStage(values["stage"])
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        values["updated_at"] = datetime.fromisoformat(values["updated_at"])
        values["triggers"] = tuple(TriggerResult(**t) for t in values.get("triggers", ()))
        values["window"] = tuple(values.get("window", ()))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """What ``tripcast retrain guard`` found and did."""

    model: str
    champion: str
    previous: str
    action: str  # "rolled_back" | "ok" | "skipped"
    why: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "champion": self.champion,
            "previous": self.previous,
            "action": self.action,
            "why": self.why,
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification for whoever is on call (the guardrail's rollback)."""

    name: str
    severity: str
    summary: str
    subject: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0


class NoValidRowsError(TripcastError):
    """The month to retrain on has no valid rows: nothing was trained or changed."""

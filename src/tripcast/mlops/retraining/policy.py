"""Retraining policies: one YAML file per environment (``environments/<env>/retraining_policy.yaml``).

Validated by pydantic models that forbid unknown keys; a bad file is one :class:`InvalidInputError`
naming the file and each bad field (``retraining_policy.yaml: triggers.live_error.max_ratio: ...``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tripcast.core.domain.retraining import DecisionMode, GuardScope, RetrainingPolicy
from tripcast.mlops.policy_files import read_policy

POLICY_FILE = "retraining_policy.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LiveErrorTrigger(_Strict):
    """Fires when the champion's live RMSE / validation RMSE exceeds ``max_ratio`` (on >= ``min_rows``)."""

    enabled: bool = True
    max_ratio: float = Field(default=1.2, gt=1.0, le=10.0)
    min_rows: int = Field(default=100, ge=1)


class NewDataTrigger(_Strict):
    """Fires when the months since the last retrained one hold at least ``min_rows`` valid rows."""

    enabled: bool = True
    min_rows: int = Field(default=10_000, ge=1)


class Triggers(_Strict):
    """Which triggers run, and their thresholds."""

    drift: bool = True
    live_error: LiveErrorTrigger = LiveErrorTrigger()
    schedule: bool = True
    new_data: NewDataTrigger = NewDataTrigger()


class Guardrail(_Strict):
    """After a promotion: roll back when live RMSE exceeds the previous champion's by ``margin``."""

    applies_to: GuardScope = GuardScope.AUTOMATIC
    margin: float = Field(default=0.1, ge=0.0, le=5.0)
    min_rows: int = Field(default=500, ge=1)


class ExperimentPlan(_Strict):
    """Decision ``experiment``: the A/B test of champion vs challenger that retraining creates."""

    start: bool = True
    treatment_share: float = Field(default=0.5, gt=0.0, lt=1.0)
    minimum_detectable_effect: float = Field(default=0.05, gt=0.0, le=1.0)


class RetrainingPolicyModel(_Strict):
    """The YAML schema of a retraining policy (see ``DOCS/lifecycle-retraining.md``)."""

    environment: str
    window_months: int = Field(default=2, ge=1, le=36)
    decision: DecisionMode = DecisionMode.AUTO_PROMOTE
    triggers: Triggers = Triggers()
    guardrail: Guardrail = Guardrail()
    experiment: ExperimentPlan = ExperimentPlan()

    def to_policy(self) -> RetrainingPolicy:
        """The domain policy."""
        t, g = self.triggers, self.guardrail
        return RetrainingPolicy(
            environment=self.environment,
            window_months=self.window_months,
            decision=self.decision,
            drift_trigger=t.drift,
            live_error_trigger=t.live_error.enabled,
            live_error_max_ratio=t.live_error.max_ratio,
            live_error_min_rows=t.live_error.min_rows,
            schedule_trigger=t.schedule,
            new_data_trigger=t.new_data.enabled,
            new_data_min_rows=t.new_data.min_rows,
            guard_scope=g.applies_to,
            guard_margin=g.margin,
            guard_min_rows=g.min_rows,
            experiment_start=self.experiment.start,
            experiment_treatment_share=self.experiment.treatment_share,
            experiment_minimum_detectable_effect=self.experiment.minimum_detectable_effect,
        )


def default_policy(environment: str) -> RetrainingPolicy:
    """The policy of an environment without a file: local and development promote automatically and guard
    every promotion (a forced one too); elsewhere a passing challenger is an approval request and the guardrail
    watches retraining's own promotions."""
    relaxed = environment in {"local", "development"}
    mode = DecisionMode.AUTO_PROMOTE if relaxed else DecisionMode.REQUEST_APPROVAL
    guardrail = Guardrail(applies_to=GuardScope.ANY if relaxed else GuardScope.AUTOMATIC)
    return RetrainingPolicyModel(environment=environment, decision=mode, guardrail=guardrail).to_policy()


def load_policy(path: Path) -> RetrainingPolicy:
    """The policy in ``path``; InvalidInputError naming the file and each bad field."""
    return read_policy(path, RetrainingPolicyModel).to_policy()

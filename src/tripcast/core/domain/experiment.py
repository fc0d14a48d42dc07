"""Experiments on models: definitions, states, sticky assignment, exposures and the verdict's shape.

Generic: arms are registry versions or aliases of any model, the outcome any number per unit; nothing here
knows about taxis. The statistics live behind :class:`tripcast.core.ports.experiment_analysis.ExperimentAnalyzer`;
this module holds only what every part (definitions store, serving, analysis, CLI, API) must agree on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError


class ExperimentMode(StrEnum):
    """How traffic reaches the arms."""

    AB = "ab"  # each unit answered by its arm's model
    SHADOW = "shadow"  # the control answers everyone; the other arms score mirrored traffic, never answer
    CANARY = "canary"  # an A/B whose treatment share follows scheduled steps (e.g. 5 % -> 25 % -> 50 %)


class ExperimentState(StrEnum):
    """draft -> running -> stopped -> decided (each transition audited)."""

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    DECIDED = "decided"


#: The transitions a definitions store allows.
TRANSITIONS: dict[ExperimentState, frozenset[ExperimentState]] = {
    ExperimentState.DRAFT: frozenset({ExperimentState.RUNNING}),
    ExperimentState.RUNNING: frozenset({ExperimentState.STOPPED}),
    ExperimentState.STOPPED: frozenset({ExperimentState.DECIDED, ExperimentState.RUNNING}),
    ExperimentState.DECIDED: frozenset(),
}


class Verdict(StrEnum):
    """What the rule written before the experiment decided."""

    SHIP = "ship"
    KEEP_CHAMPION = "keep champion"
    CONTINUE = "continue"
    INVALID = "invalid"


def parse_verdict(text: str, field_name: str) -> Verdict:
    """A verdict from its name (any case, surrounding spaces ignored); ``field_name`` is named when it is none."""
    try:
        return Verdict(text.strip().lower())
    except ValueError:
        allowed = ", ".join(v.value for v in Verdict)
        raise InvalidInputError([FieldProblem(field_name, f"{text!r} is not a verdict; use {allowed}")]) from None


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: a name, the registry version or alias it serves, its share of traffic (shares sum to 1)."""

    name: str
    model_ref: str
    weight: float


@dataclass(frozen=True, slots=True)
class CanaryStep:
    """From ``after_seconds`` since the start, the treatment arms together get ``treatment_share`` of traffic."""

    after_seconds: float
    treatment_share: float


#: Guardrail metrics measured from the exposures, with what each means (every treatment arm must stay at or
#: below the limit).
GUARDRAIL_METRICS = {
    "p99_latency_ms": "99th percentile of the arm's time per request (routing, cache, model), ms",
    "error_rate": "share of the arm's requests that failed",
    "prediction_drift": "population stability index of the arm's predictions against the control's",
}


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A metric that must stay at or below ``limit`` in every treatment arm (one of :data:`GUARDRAIL_METRICS`)."""

    metric: str
    limit: float


@dataclass(frozen=True, slots=True)
class ExperimentDefinition:
    """An experiment as written before it starts: the decision rule is fixed here, not after peeking.

    The first arm is the control (the champion); lower ``primary_metric`` is better (an error) unless
    ``higher_is_better``. ``unit`` names the request field randomised on (``request_id`` or a client id).
    """

    experiment_id: str
    model_name: str
    arms: tuple[Arm, ...]
    mode: ExperimentMode = ExperimentMode.AB
    unit: str = "request_id"
    primary_metric: str = "abs_error_minutes"
    higher_is_better: bool = False
    minimum_detectable_effect: float = 0.1
    alpha: float = 0.05
    power: float = 0.8
    covariate: str | None = None
    guardrails: tuple[Guardrail, ...] = ()
    canary_steps: tuple[CanaryStep, ...] = ()
    description: str = ""

    @property
    def control(self) -> Arm:
        return self.arms[0]

    def problems(self) -> list[FieldProblem]:
        """What is wrong with the definition (empty when it can run)."""
        found: list[FieldProblem] = []
        if not self.experiment_id.strip():
            found.append(FieldProblem("id", "must not be empty"))
        if len(self.arms) < 2:
            found.append(FieldProblem("arms", f"needs at least 2 arms, got {len(self.arms)}"))
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            found.append(FieldProblem("arms", f"arm names must be unique, got {names}"))
        if any(arm.weight < 0 for arm in self.arms):
            found.append(FieldProblem("arms.weight", "weights must be >= 0"))
        total = sum(arm.weight for arm in self.arms)
        if abs(total - 1.0) > 1e-9:
            found.append(FieldProblem("arms.weight", f"weights must sum to 1, got {total:g}"))
        if not 0 < self.alpha < 0.5:
            found.append(FieldProblem("alpha", f"must be in (0, 0.5), got {self.alpha:g}"))
        if not 0.5 <= self.power < 1:
            found.append(FieldProblem("power", f"must be in [0.5, 1), got {self.power:g}"))
        if self.minimum_detectable_effect <= 0:
            found.append(FieldProblem("minimum_detectable_effect", "must be > 0"))
        if self.mode is ExperimentMode.CANARY and not self.canary_steps:
            found.append(FieldProblem("canary_steps", "a canary needs at least one step"))
        return found

    def validated(self) -> ExperimentDefinition:
        """Self, or InvalidInputError naming every bad field."""
        problems = self.problems()
        if problems:
            raise InvalidInputError(problems)
        return self


@dataclass(frozen=True, slots=True)
class Experiment:
    """A definition and where it is in its life."""

    definition: ExperimentDefinition
    state: ExperimentState
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    decided_at: datetime | None = None
    verdict: Verdict | None = None


@dataclass(frozen=True, slots=True)
class Exposure:
    """One unit exposed to one arm: what answered (or, in shadow mode, what scored) a request."""

    experiment_id: str
    arm: str
    unit_id: str
    request_id: str
    at: datetime
    model_version: str
    answered: bool = True  # False for shadow scores that were never returned
    #: What the arm predicted (the prediction-drift guardrail; a shadow score is in no prediction log).
    prediction: float | None = None
    #: How long the arm took for the request, in ms (the p99-latency guardrail); None when not measured.
    latency_ms: float | None = None
    #: The arm failed the request (the error-rate guardrail): the request then answered an error.
    error: bool = False


class ExperimentConflictError(TripcastError):
    """The experiment's state (or another running experiment) forbids the change; nothing changed."""


#: What each audited transition is called (``experiment.created|started|stopped|decided``).
TRANSITION_ACTIONS: dict[ExperimentState, str] = {
    ExperimentState.DRAFT: "experiment.created",
    ExperimentState.RUNNING: "experiment.started",
    ExperimentState.STOPPED: "experiment.stopped",
    ExperimentState.DECIDED: "experiment.decided",
}


def arm_weights(experiment: Experiment, seconds_running: float) -> tuple[float, ...]:
    """The weights serving uses now: a canary's scheduled share, a shadow's all-to-control, else the arms'."""
    definition = experiment.definition
    if definition.mode is ExperimentMode.SHADOW:
        return (1.0, *(0.0 for _ in definition.arms[1:]))
    if definition.mode is ExperimentMode.CANARY:
        return canary_weights(definition, seconds_running)
    return tuple(arm.weight for arm in definition.arms)


def experiment_payload(experiment: Experiment, exposures: dict[str, int] | None = None) -> dict[str, object]:
    """An experiment as JSON-able data (``status --json``, the API)."""
    d = experiment.definition
    stamp = {
        "created_at": experiment.created_at,
        "started_at": experiment.started_at,
        "stopped_at": experiment.stopped_at,
        "decided_at": experiment.decided_at,
    }
    payload: dict[str, object] = {
        "id": d.experiment_id,
        "model": d.model_name,
        "mode": d.mode.value,
        "state": experiment.state.value,
        "unit": d.unit,
        "arms": [{"name": a.name, "model_ref": a.model_ref, "weight": a.weight} for a in d.arms],
        "primary_metric": d.primary_metric,
        "minimum_detectable_effect": d.minimum_detectable_effect,
        "alpha": d.alpha,
        "power": d.power,
        "canary_steps": [
            {"after_seconds": s.after_seconds, "treatment_share": s.treatment_share} for s in d.canary_steps
        ],
        "guardrails": [{"metric": g.metric, "limit": g.limit} for g in d.guardrails],
        "description": d.description,
        "verdict": experiment.verdict.value if experiment.verdict is not None else None,
        **{key: value.isoformat() if value is not None else None for key, value in stamp.items()},
    }
    if exposures is not None:
        payload["exposures"] = exposures
    return payload


def bucket(experiment_id: str, unit_id: str) -> float:
    """A deterministic, uniform point in [0, 1) for a unit in an experiment (sticky, salted per experiment)."""
    if not isinstance(unit_id, str):
        raise InvalidInputError([FieldProblem("unit_id", f"must be a string, got {type(unit_id).__name__}")])
    digest = hashlib.blake2b(f"{experiment_id}\x1f{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign(experiment_id: str, unit_id: str, weights: Sequence[float]) -> int:
    """Index of the arm a unit belongs to, by cumulative weights over its :func:`bucket`."""
    point = bucket(experiment_id, unit_id)
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if point < cumulative:
            return index
    return len(weights) - 1


def canary_weights(definition: ExperimentDefinition, seconds_running: float) -> tuple[float, ...]:
    """Arm weights of a canary at ``seconds_running``: the latest step's treatment share, split over the
    treatment arms in proportion to their weights; the control keeps the rest. Before the first step,
    the first step's share applies."""
    steps = sorted(definition.canary_steps, key=lambda s: s.after_seconds)
    share = steps[0].treatment_share
    for step in steps:
        if seconds_running >= step.after_seconds:
            share = step.treatment_share
    treatments = definition.arms[1:]
    treatment_total = sum(arm.weight for arm in treatments) or float(len(treatments))
    split = [share * ((arm.weight or 1.0) / treatment_total) for arm in treatments]
    return (1.0 - share, *split)


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One arm's numbers in an analysis."""

    arm: str
    n: int
    mean: float
    variance: float


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """A guardrail's measured value in an arm and whether it held."""

    metric: str
    arm: str
    value: float
    limit: float
    ok: bool


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """The verdict and the numbers behind it (``tripcast experiments analyze --json``).

    ``effect`` is treatment minus control on the primary metric (CUPED-adjusted when a covariate is given),
    with its always-valid (sequential) confidence interval; ``fixed_horizon`` holds the Welch test at the
    planned sample size; ``rule`` says, in words, which part of the pre-registered rule decided.
    """

    experiment_id: str
    verdict: Verdict
    effect: float
    ci_low: float
    ci_high: float
    srm_p: float
    n_per_arm: dict[str, int]
    rule: str
    arms: tuple[ArmSummary, ...] = ()
    treatment: str = ""
    relative_effect: float | None = None
    variance_reduction: float | None = None
    fixed_horizon: dict[str, float] = field(default_factory=dict)
    planned_n_per_arm: int | None = None
    comparisons: tuple[dict[str, object], ...] = ()
    guardrails: tuple[GuardrailResult, ...] = ()
    #: Units per control arm by which the always-valid interval reaches the definition's power for the
    #: minimum detectable effect (larger than ``planned_n_per_arm``, the fixed-horizon Welch plan).
    sequential_n_per_arm: int | None = None
    #: Exposed units per arm (outcome or not), which the sample ratio mismatch check counts.
    exposed_per_arm: dict[str, int] = field(default_factory=dict)
    #: Units per arm the definition's weights expect, for the sample ratio mismatch check.
    srm_expected: dict[str, float] = field(default_factory=dict)
    #: The cumulative looks of ``treatment`` vs control: ``at``, ``n``, ``effect``, ``ci_low``, ``ci_high``.
    looks: tuple[dict[str, float], ...] = ()
    #: CUPED's pooled slope of the outcome on the covariate (None without a covariate).
    cuped_theta: float | None = None

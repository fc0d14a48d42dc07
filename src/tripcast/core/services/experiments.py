"""Experiments on served models: define, start, stop, decide, analyse (``Experiments``), and the traffic split
serving asks for each request (``ExperimentTraffic``).

Every change of state is a compare-and-set in the store and an audit event; a refusal changes nothing.
"""

from __future__ import annotations

import builtins
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tripcast.core.domain.access import Identity, Permission, roles_with
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError, TripcastError
from tripcast.core.domain.experiment import (
    TRANSITION_ACTIONS,
    TRANSITIONS,
    AnalysisResult,
    Experiment,
    ExperimentConflictError,
    ExperimentDefinition,
    ExperimentMode,
    ExperimentState,
    Exposure,
    GuardrailResult,
    Verdict,
    arm_weights,
    assign,
)
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.experiment_analysis import ExperimentAnalyzer
from tripcast.core.ports.experiments import (
    ExperimentMetrics,
    ExperimentStore,
    ExposureLog,
    NoExperimentMetrics,
    OutcomeSource,
)
from tripcast.core.ports.serving import ModelSource, Route, ServedModel
from tripcast.core.ports.tracking import ModelRegistry

log = logging.getLogger(__name__)

#: Who may define, start and stop experiments, and who may record their decision.
OPERATE_PERMISSION = Permission.OPERATE
DECIDE_PERMISSION = Permission.APPROVE


class AnalysisEngineMissingError(TripcastError):
    """No statistics engine is installed behind the ExperimentAnalyzer port."""


@dataclass(frozen=True, slots=True)
class ExperimentStatus:
    """An experiment and its written exposures per arm."""

    experiment: Experiment
    exposures: dict[str, int]


class Experiments:
    """The experiment use case: lifecycle (audited, role-checked), status and analysis."""

    def __init__(
        self,
        store: ExperimentStore,
        exposures: ExposureLog,
        registry: ModelRegistry,
        audit: AuditLog,
        clock: Clock,
        *,
        analyzer: Callable[[], ExperimentAnalyzer] | None = None,
        outcomes: OutcomeSource | None = None,
    ) -> None:
        self.store = store
        self.exposures = exposures
        self.registry = registry
        self.audit = audit
        self.clock = clock
        self._analyzer = analyzer
        self.outcomes = outcomes

    def create(self, definition: ExperimentDefinition, *, actor: Identity) -> Experiment:
        """Store a new experiment as a draft; its arms must name existing versions or aliases."""
        _require(actor, OPERATE_PERMISSION, "create experiments")
        definition = definition.validated()
        problems = self._missing_arms(definition)
        if problems:
            raise InvalidInputError(problems)
        experiment = Experiment(definition, ExperimentState.DRAFT, self.clock.now())
        self.store.save(experiment)
        self._audit(experiment, actor, {"mode": definition.mode.value, "arms": _arms_text(definition)})
        return experiment

    def start(self, experiment_id: str, *, actor: Identity) -> Experiment:
        """Start serving the experiment; refused while another experiment runs on the same model."""
        _require(actor, OPERATE_PERMISSION, "start experiments")
        experiment = self.store.get(experiment_id)
        model = experiment.definition.model_name
        others = [
            e for e in self.store.list(ExperimentState.RUNNING, model) if e.definition.experiment_id != experiment_id
        ]
        if others:
            raise ExperimentConflictError(
                f"experiment {others[0].definition.experiment_id!r} is already running on {model}'s traffic; "
                "stop it first"
            )
        problems = self._missing_arms(experiment.definition)  # a version may have gone since the draft
        if problems:
            raise InvalidInputError(problems)
        return self._move(experiment, ExperimentState.RUNNING, actor, started_at=self.clock.now(), stopped_at=None)

    def stop(self, experiment_id: str, *, actor: Identity) -> Experiment:
        """Stop serving the experiment (its exposures stay for the analysis)."""
        _require(actor, OPERATE_PERMISSION, "stop experiments")
        experiment = self.store.get(experiment_id)
        return self._move(experiment, ExperimentState.STOPPED, actor, stopped_at=self.clock.now())

    def decide(self, experiment_id: str, verdict: Verdict, *, actor: Identity) -> Experiment:
        """Record the decision on a stopped experiment."""
        _require(actor, DECIDE_PERMISSION, "decide experiments")
        experiment = self.store.get(experiment_id)
        return self._move(experiment, ExperimentState.DECIDED, actor, decided_at=self.clock.now(), verdict=verdict)

    def status(self, experiment_id: str) -> ExperimentStatus:
        """The experiment and how many exposures each arm has."""
        experiment = self.store.get(experiment_id)
        return ExperimentStatus(experiment, self.exposures.count(experiment_id))

    def list(self, state: ExperimentState | None = None) -> builtins.list[Experiment]:
        """Every experiment (optionally in one state), oldest first."""
        return self.store.list(state)

    def running_for(self, model_name: str) -> Experiment | None:
        """The experiment running on ``model_name``'s traffic, if any."""
        running = self.store.list(ExperimentState.RUNNING, model_name)
        return running[0] if running else None

    def analyzer(self) -> ExperimentAnalyzer:
        """The statistics engine, or AnalysisEngineMissingError."""
        if self._analyzer is None:
            raise AnalysisEngineMissingError("analysis engine not installed (tripcast.mlops.ab_testing.analysis)")
        return self._analyzer()

    def analyze(self, experiment_id: str) -> AnalysisResult:
        """Join the exposures to their outcomes and apply the rule the definition fixed in advance."""
        experiment = self.store.get(experiment_id)
        if self.outcomes is None:
            raise AnalysisEngineMissingError("no outcome source: the prediction log is off (prediction_log_enabled)")
        self.exposures.flush()
        ids = self.exposures.request_ids(experiment_id)
        if not ids:
            raise InvalidInputError([FieldProblem("exposures", f"experiment {experiment_id!r} has no exposures yet")])
        observations = self.exposures.observations(experiment_id, self.outcomes.outcomes(ids))
        guardrails = self.guardrails(experiment.definition)
        return self.analyzer().analyze(experiment.definition, observations, guardrails)

    def guardrails(self, definition: ExperimentDefinition) -> tuple[GuardrailResult, ...]:
        """Each declared guardrail in each treatment arm, measured from the written exposures. A guardrail with
        nothing measured yet (NaN: no latency recorded, no prediction) holds: there is no evidence against it."""
        if not definition.guardrails:
            return ()
        measures = self.exposures.arm_measures(definition.experiment_id, definition.arms[0].name)
        results = []
        for guardrail in definition.guardrails:
            for arm in definition.arms[1:]:
                value = measures.get(arm.name, {}).get(guardrail.metric, math.nan)
                held = math.isnan(value) or value <= guardrail.limit
                results.append(GuardrailResult(guardrail.metric, arm.name, value, guardrail.limit, held))
        return tuple(results)

    def sample_size(self, experiment_id: str, baseline_mean: float, baseline_std: float) -> int:
        """Units per arm the experiment needs (the analyzer's power calculation)."""
        problems = [FieldProblem("--baseline-std", "must be > 0")] if baseline_std <= 0 else []
        if baseline_mean == 0:
            problems.append(FieldProblem("--baseline-mean", "must not be 0 (the effect is relative to it)"))
        if problems:
            raise InvalidInputError(problems)
        return self.analyzer().sample_size(self.store.get(experiment_id).definition, baseline_mean, baseline_std)

    def _missing_arms(self, definition: ExperimentDefinition) -> builtins.list[FieldProblem]:
        problems = []
        for arm in definition.arms:
            try:
                self.registry.get(definition.model_name, arm.model_ref)
            except NotFoundError as exc:
                what = f"version {arm.model_ref}" if arm.model_ref.isdigit() else f"alias {arm.model_ref!r}"
                problems.append(
                    FieldProblem(
                        f"arms.{arm.name}",
                        f"arm {arm.name!r} names {what} of {definition.model_name}, which does not exist ({exc})",
                    )
                )
        return problems

    def _move(self, experiment: Experiment, new: ExperimentState, actor: Identity, **changes: object) -> Experiment:
        if new not in TRANSITIONS[experiment.state]:
            name = experiment.definition.experiment_id
            hint = _TRANSITION_HINTS.get((experiment.state, new), "")
            raise ExperimentConflictError(
                f"experiment {name!r} is {experiment.state.value}: cannot become {new.value}{hint}"
            )
        updated = replace(experiment, state=new, **changes)  # type: ignore[arg-type]
        stored = self.store.transition(updated, expected=experiment.state)
        details = {"from": experiment.state.value}
        if stored.verdict is not None:
            details["verdict"] = stored.verdict.value
        self._audit(stored, actor, details)
        return stored

    def _audit(self, experiment: Experiment, actor: Identity, details: dict[str, str]) -> None:
        action = TRANSITION_ACTIONS[experiment.state]
        subject = f"experiment:{experiment.definition.experiment_id}"
        details = {"model": experiment.definition.model_name, **details}
        self.audit.record(AuditEvent(self.clock.now(), actor.name, action, subject, details))


#: What to do instead, for the refusals an operator meets most.
_TRANSITION_HINTS = {
    (ExperimentState.RUNNING, ExperimentState.DECIDED): " (stop it first)",
    (ExperimentState.DRAFT, ExperimentState.DECIDED): " (it never ran)",
    (ExperimentState.DECIDED, ExperimentState.DECIDED): " (a decision is final)",
}


def _require(identity: Identity, permission: Permission, what: str) -> None:
    if not identity.can(permission):
        roles = " or ".join(role.value for role in roles_with(permission))
        raise ExperimentConflictError(
            f"{identity.name!r} (role {identity.role.value}) may not {what}: needs role {roles}"
        )


def _arms_text(definition: ExperimentDefinition) -> str:
    return ", ".join(f"{a.name}={a.model_ref}@{a.weight:g}" for a in definition.arms)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A running experiment as serving needs it: its arms' loaded sources and when it started."""

    experiment: Experiment
    sources: tuple[ModelSource, ...]
    started: float  # clock seconds


#: (model name, version or alias) -> a model source serving it (loaded once, following an alias).
ArmSources = Callable[[str, str], ModelSource]
#: Runs a task off the request path; False when it had to drop it (overloaded).
Background = Callable[[Callable[[], None]], bool]


class ExperimentTraffic:
    """The traffic split of one served model: which arm answers each unit, and the exposures it leaves.

    :meth:`refresh` (a poller calls it every second or two) follows the store. An experiment routes only
    once **every** arm's model is loaded: until then (and for a stale plan the store no longer runs) the
    served model answers every request and **no exposure is recorded** (counted as a fallback), so a slow
    arm never skews the split: a unit is either in the experiment with its hashed arm, or not in it at all.
    """

    def __init__(
        self,
        store: ExperimentStore,
        exposures: ExposureLog,
        model_name: str,
        sources: ArmSources,
        clock: Clock,
        background: Background,
        metrics: ExperimentMetrics | None = None,
    ) -> None:
        self.store = store
        self.exposures = exposures
        self.model_name = model_name
        self.sources = sources
        self.clock = clock
        self.background = background
        self.metrics: ExperimentMetrics = metrics or NoExperimentMetrics()
        self._plan: _Plan | None = None
        #: The running experiment whose arms are still loading (requests meanwhile: champion, no exposure).
        self._pending: Experiment | None = None
        self._cache: dict[str, ModelSource] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> Experiment | None:
        """The experiment being served, if any."""
        plan = self._plan
        return plan.experiment if plan is not None else None

    @property
    def waiting(self) -> Experiment | None:
        """The running experiment whose arms are still loading, if any."""
        return self._pending

    def refresh(self) -> None:
        """Follow the store: serve the running experiment of the model once its arms are loaded, or none."""
        running = self.store.list(ExperimentState.RUNNING, self.model_name)
        experiment = running[0] if running else None
        current = self._plan
        if current is not None and current.experiment == experiment:
            self._report_shares(current)  # a canary's target moves with its steps
            return
        if current is not None:  # stopped, restarted or replaced: no exposure under a plan the store dropped
            self._plan = None
            self.metrics.experiment_arms(current.experiment.definition.experiment_id, 0, {})
            self.metrics.experiment_shares(current.experiment.definition.experiment_id, {})
            log.info("experiment %s no longer served", current.experiment.definition.experiment_id)
        pending = self._pending
        if pending is not None and pending != experiment:  # stopped before its arms loaded
            self.metrics.experiment_arms(pending.definition.experiment_id, 0, {})
        first_look = pending != experiment
        self._pending = experiment
        if experiment is None:
            return
        sources, waiting = self._load_arms(experiment)
        name = experiment.definition.experiment_id
        self.metrics.experiment_arms(name, len(sources), _arm_versions(experiment, sources, waiting))
        if waiting:
            log.log(
                logging.WARNING if first_look else logging.DEBUG,  # once per start, not every poll
                "experiment %s waits for %s; until every arm is loaded the served model answers and no exposure "
                "is recorded",
                name,
                "; ".join(waiting),
            )
            return
        started = experiment.started_at.timestamp() if experiment.started_at else self.clock.now().timestamp()
        self._plan = _Plan(experiment, tuple(sources), started)
        self._pending = None
        self._report_shares(self._plan)
        log.info("serving experiment %s: all %d arms loaded", name, len(sources))

    def _report_shares(self, plan: _Plan) -> None:
        definition = plan.experiment.definition
        if definition.mode is ExperimentMode.SHADOW:  # every arm scores every request
            weights: tuple[float, ...] = tuple(1 / len(definition.arms) for _ in definition.arms)
        else:
            weights = arm_weights(plan.experiment, self.clock.now().timestamp() - plan.started)
        self.metrics.experiment_shares(
            definition.experiment_id, {arm.name: w for arm, w in zip(definition.arms, weights, strict=True)}
        )

    def _load_arms(self, experiment: Experiment) -> tuple[builtins.list[ModelSource], builtins.list[str]]:
        """Each arm's source, loaded here on the poller's thread (never on a request), and the arms not loaded."""
        sources: builtins.list[ModelSource] = []
        waiting: builtins.list[str] = []
        for arm in experiment.definition.arms:
            try:
                with self._lock:
                    source = self._source(arm.model_ref)
                if source.current is None:
                    source.require()  # a pinned version loads now; a followed alias raises until its loader has
            except Exception as exc:  # noqa: BLE001 - a slow or failing arm: retried at the next poll
                waiting.append(f"arm {arm.name!r} ({arm.model_ref}): {exc}")
                continue
            sources.append(source)
            # Progress while a later arm is still loading (a load can take minutes).
            self.metrics.experiment_arms(experiment.definition.experiment_id, len(sources), {})
        return sources, waiting

    def _source(self, ref: str) -> ModelSource:
        if ref not in self._cache:
            self._cache[ref] = self.sources(self.model_name, ref)
        return self._cache[ref]

    def route(self, unit_id: str) -> Route | None:
        """The unit's arm; None (the served model answers, nothing exposed) without a fully loaded experiment."""
        plan = self._plan
        if plan is None:
            pending = self._pending
            if pending is not None:
                self.metrics.experiment_fallback(pending.definition.experiment_id, "arms_loading")
            return None
        definition = plan.experiment.definition
        weights = arm_weights(plan.experiment, self.clock.now().timestamp() - plan.started)
        index = assign(definition.experiment_id, unit_id, weights)
        model = plan.sources[index].current
        if model is None:  # cannot happen once loaded (a source never unloads); never load on a request
            self.metrics.experiment_fallback(definition.experiment_id, "arm_not_loaded")
            return None
        return Route(model, definition.experiment_id, definition.arms[index].name)

    def served(
        self,
        route: Route,
        unit_id: str,
        request_ids: Sequence[str],
        requests: Sequence[TripRequest],
        minutes: Sequence[float],
        seconds: float | None = None,
    ) -> None:
        """Queue the exposures of what answered (its predictions and time: the guardrails' data); mirror a
        shadow test's requests to the other arms off the request path."""
        at = self.clock.now()
        version = route.model.number
        latency = None if seconds is None else seconds * 1000
        self.exposures.record(
            [
                Exposure(route.experiment, route.arm, unit_id, rid, at, version, True, float(m), latency)
                for rid, m in zip(request_ids, minutes, strict=True)
            ]
        )
        self.metrics.experiment_exposed(route.experiment, route.arm, len(request_ids))
        plan = self._plan
        if plan is None or plan.experiment.definition.mode is not ExperimentMode.SHADOW:
            return
        if not self.background(lambda: self._shadow(plan, unit_id, request_ids, requests)):
            log.warning("shadow scoring queue full: %d requests not mirrored", len(request_ids))

    def failed(self, route: Route, unit_id: str, request_ids: Sequence[str], seconds: float) -> None:
        """Queue exposures marking the requests the route's arm failed (the error-rate guardrail)."""
        at, version = self.clock.now(), route.model.number
        self.exposures.record(
            [
                Exposure(route.experiment, route.arm, unit_id, rid, at, version, True, None, seconds * 1000, True)
                for rid in request_ids
            ]
        )
        self.metrics.experiment_exposed(route.experiment, route.arm, len(request_ids))

    def _shadow(self, plan: _Plan, unit_id: str, request_ids: Sequence[str], requests: Sequence[TripRequest]) -> None:
        """Score the treatment arms on the same requests, off the request path; their answers are never returned."""
        definition = plan.experiment.definition
        for arm, source in zip(definition.arms[1:], plan.sources[1:], strict=True):
            model: ServedModel = source.require()
            started = time.perf_counter()
            try:
                minutes: Sequence[float | None] = model.predictor.predict_trips(list(requests))
                error = False
            except Exception:  # a failing shadow arm is measured (error rate), never the request's problem
                log.exception("shadow scoring by %s v%s failed", arm.name, model.number)
                minutes, error = [None] * len(request_ids), True
            latency, at = (time.perf_counter() - started) * 1000, self.clock.now()
            self.exposures.record(
                [
                    Exposure(
                        definition.experiment_id, arm.name, unit_id, rid, at, model.number, False,
                        None if m is None else float(m), latency, error,
                    )
                    for rid, m in zip(request_ids, minutes, strict=True)
                ]
            )  # fmt: skip
            self.metrics.experiment_exposed(definition.experiment_id, arm.name, len(request_ids))


def _arm_versions(experiment: Experiment, sources: Sequence[ModelSource], waiting: Sequence[str]) -> dict[str, str]:
    """Arm name -> the loaded version answering it; empty until every arm is loaded."""
    if waiting:
        return {}
    versions: dict[str, str] = {}
    for arm, source in zip(experiment.definition.arms, sources, strict=True):
        model = source.current
        if model is not None:
            versions[arm.name] = model.number
    return versions

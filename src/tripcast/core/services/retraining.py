"""Automated retraining: triggers -> ingest -> validate -> train a challenger on a sliding window ->
evaluate champion and challenger on the same newest labeled month -> gate -> decide per policy -> record.

**The window.** A run for month ``M`` (the month that just arrived, the newest with outcomes) trains the
challenger on the ``window_months`` months *ending at M's predecessor* and evaluates both champion and
challenger on ``M`` itself. ``M`` is the freshest labeled data, and neither model has seen it, so the
comparison is fair; the challenger's registered validation (and test) month is ``M``, which is also the
month the promotion gate reads. Months of the window with no data on hand are left out (the first run has
only one month behind it).

**Idempotent and resumable.** Each (model, month) run is a durable record (:class:`RunStateStore`) with the
stage it reached. A decided month returns its recorded decision without retraining (``force=True``
retrains); a run that died after training resumes at the evaluation with the recorded challenger version
(no second registration). The whole run holds the lock ``retrain-<model>``: a second run is refused at once.

**Guardrail.** :meth:`Retraining.guard` compares the champion's live error (from ground-truth feedback)
with the previous champion's (its live error, or its validation RMSE) after a promotion; worse by more than
the policy's margin, with enough labeled rows, rolls the champion back (ledger reason ``guardrail: ...``)
and sends an alert through :class:`Alerter` (audited ``retrain.guardrail_alert``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.approval import GateSnapshot
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import PromotionRefusedError, TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.ledger import LedgerEntry, LedgerNote
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import (
    Alert,
    DecisionMode,
    GuardScope,
    GuardVerdict,
    NoValidRowsError,
    RetrainDecision,
    RetrainingPolicy,
    RetrainRun,
    RetrainStage,
)
from tripcast.core.ports.approval import PromotionGate
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.locks import Locks
from tripcast.core.ports.retraining import (
    Alerter,
    LiveErrors,
    MonthPreparation,
    RetrainTrigger,
    RunStateStore,
    TriggerContext,
)
from tripcast.core.ports.tracing import NO_TRACING, AttributeValue, SpanHandle, Tracer
from tripcast.core.services.approval import Approvals
from tripcast.core.services.experiment_lifecycle import ChallengerExperimentPlan, ExperimentLifecycle
from tripcast.core.services.promotion import CHALLENGER, CHAMPION, REFUSED, Promotion
from tripcast.core.services.rollback import Rollback
from tripcast.core.services.training import Training, TrainingPlan

#: Audit actions of retraining.
RETRAIN_DECIDED = "retrain.decided"
GUARDRAIL_ROLLBACK = "retrain.guardrail_rollback"
GUARDRAIL_ALERT = "retrain.guardrail_alert"
#: Ledger reasons of retraining's promotions start with this (what the guardrail recognises as automatic).
RETRAIN_REASON_PREFIX = "retrain "


def retrain_lock(model: str) -> str:
    """The lock every retraining run of ``model`` holds."""
    return f"retrain-{model}"


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    """A run's record and whether this call did the work or returned a decision recorded earlier."""

    run: RetrainRun
    reused: bool
    resumed: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "reused": self.reused, "resumed": self.resumed, "seconds": round(self.seconds, 3)}


class Retraining:
    """The retraining use cases (``tc.retraining``): ``run`` a month, ``guard`` the champion, ``status``."""

    def __init__(
        self,
        *,
        model_name: str,
        policy: RetrainingPolicy,
        data: MonthPreparation,
        triggers: Sequence[RetrainTrigger],
        runs: RunStateStore,
        training: Training,
        gate: PromotionGate,
        promotion: Promotion,
        approvals: Callable[[], Approvals] | None,
        rollback: Callable[[], Rollback] | None,
        live: LiveErrors | None,
        alerter: Alerter,
        locks: Locks,
        audit: AuditLog,
        clock: Clock,
        experiments: Callable[[], ExperimentLifecycle] | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.model_name = model_name
        self.policy = policy
        self.data = data
        self.triggers = tuple(triggers)
        self.runs = runs
        self.training = training
        self.gate = gate
        self.promotion = promotion
        self.approvals = approvals
        self.rollback = rollback
        self.live = live
        self.alerter = alerter
        self.locks = locks
        self.audit = audit
        self.clock = clock
        #: Opens the A/B test of a parked challenger (decision ``experiment``); None: the challenger just waits.
        self.experiments = experiments
        #: One trace per run (``tripcast.retrain.run``), a child span per stage (``tripcast.retrain.<stage>``).
        self.tracer = tracer

    # ------------------------------------------------------------------ run
    def run(
        self, month: Month, *, source: str | None = None, force: bool = False, actor: str = "tripcast"
    ) -> RetrainOutcome:
        """Retrain for ``month`` (see the module docstring); the run's record says what was decided and why."""
        attributes: dict[str, AttributeValue] = {
            "tripcast.model.name": self.model_name,
            "tripcast.month": str(month),
            "tripcast.forced": force,
        }
        with self.tracer.span("tripcast.retrain.run", attributes) as span:
            outcome = self._run(month, source, force, actor)
            span.set_attribute("tripcast.retrain.decision", outcome.run.decision or "")
            span.set_attribute("tripcast.retrain.reused", outcome.reused)
            span.set_attribute("tripcast.retrain.resumed", outcome.resumed)
        return outcome

    def _run(self, month: Month, source: str | None, force: bool, actor: str) -> RetrainOutcome:
        started = time.perf_counter()
        with self.locks.hold(retrain_lock(self.model_name), f"tripcast retrain run --month {month} by {actor}"):
            recorded = self.runs.get(self.model_name, str(month))
            if recorded is not None and recorded.stage is RetrainStage.DECIDED and not force:
                return RetrainOutcome(recorded, reused=True, resumed=False, seconds=time.perf_counter() - started)
            resumable = recorded is not None and not force and bool(recorded.challenger_version)
            if resumable and recorded is not None:
                run = recorded
            else:
                run = self._train_stage(month, source, force, actor)
                if run.stage is RetrainStage.DECIDED:
                    return RetrainOutcome(run, reused=False, resumed=False, seconds=time.perf_counter() - started)
            if run.stage is RetrainStage.TRAINED:
                run = self._evaluate_stage(run)
            run = self._decide_stage(run, actor)
        return RetrainOutcome(run, reused=False, resumed=resumable, seconds=time.perf_counter() - started)

    def _train_stage(self, month: Month, source: str | None, force: bool, actor: str) -> RetrainRun:
        """Ingest and validate the month, check the triggers, train the challenger on the window."""
        timings: dict[str, float] = {}
        with self._timed(timings, "ingest_validate") as span:
            rows = self.data.prepare(month, source)
            span.set_attribute("tripcast.rows.valid", rows)
        if rows == 0:
            raise NoValidRowsError(f"{month} has no valid rows: nothing retrained, no model or alias changed")
        now = self.clock.now()
        champion = self.promotion.registry.find_alias(self.model_name, CHAMPION)
        context = TriggerContext(self.model_name, month, champion, self._last_retrained(month), rows)
        with self._timed(timings, "triggers") as span:
            results = tuple(trigger.check(context) for trigger in self.triggers)
            span.set_attribute("tripcast.retrain.fired", sum(result.fired for result in results))
        run = RetrainRun(self.model_name, str(month), RetrainStage.STARTED, now, now, actor, results, rows_valid=rows)
        if not run.fired and not force:
            decided = run.at(RetrainStage.DECIDED, now, stage_seconds=timings, decision=RetrainDecision.NO_TRIGGER)
            return replace(decided, decision_detail="no trigger fired: nothing trained")
        window = self.window(month)
        with self._timed(timings, "ingest_validate_window"):
            for past in window:
                self.data.prepare(past)
        self.runs.save(run.at(RetrainStage.STARTED, now, window=tuple(str(m) for m in window), stage_seconds=timings))
        plan = TrainingPlan(window[-1], month, month, self.model_name, tuple(window))
        with self._timed(timings, "train"):
            report = self.training.train_and_register(plan, actor=actor)
        trained = run.at(
            RetrainStage.TRAINED,
            self.clock.now(),
            window=tuple(str(m) for m in window),
            challenger_version=report.version.version,
            champion_version=champion.version if champion is not None else "",
            stage_seconds=timings,
        )
        self.runs.save(trained)
        return trained

    @contextmanager
    def _timed(self, timings: dict[str, float], stage: str) -> Iterator[SpanHandle]:
        """Add the block's seconds to ``timings[stage]``, inside the stage's span (yielded for its counts)."""
        start = time.perf_counter()
        try:
            with self.tracer.span(f"tripcast.retrain.{stage}") as span:
                yield span
        finally:
            timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - start, 3)

    def window(self, month: Month) -> list[Month]:
        """The training window of a run for ``month``: up to ``window_months`` months ending at its predecessor,
        those with data on hand; NoValidRowsError when there is none."""
        months = [month.previous()]
        while len(months) < self.policy.window_months:
            months.insert(0, months[0].previous())
        window = [m for m in months if self.data.available(m)]
        if not window:
            raise NoValidRowsError(
                f"no month before {month} has data to train on (looked at {months[0]}..{months[-1]}); nothing retrained"
            )
        return window

    def _evaluate_stage(self, run: RetrainRun) -> RetrainRun:
        """Champion and challenger on the same data: the run's month, through the promotion gate."""
        timings = dict(run.stage_seconds)
        challenger = self.promotion.registry.get(self.model_name, run.challenger_version)
        with self._timed(timings, "evaluate"):
            gate = self.gate.check(challenger)
        evaluated = run.at(
            RetrainStage.EVALUATED,
            self.clock.now(),
            champion_version=gate.champion_version,
            champion_metrics=dict(gate.champion_metrics),
            challenger_metrics=dict(gate.candidate_metrics),
            evaluation_data=_evaluation_data(gate, challenger, run),
            gate_passed=gate.passed,
            gate_reason=gate.reason,
            stage_seconds=timings,
        )
        self.runs.save(evaluated)
        return evaluated

    def _decide_stage(self, run: RetrainRun, actor: str) -> RetrainRun:
        """Apply the policy to the gate's verdict, record the decision (run state + ``retrain.decided``)."""
        timings = dict(run.stage_seconds)
        with self._timed(timings, "decide"):
            decision, detail = self._decide(run, actor)
        decided = run.at(
            RetrainStage.DECIDED, self.clock.now(), decision=decision, decision_detail=detail, stage_seconds=timings
        )
        self.runs.save(decided)
        details = {
            "month": decided.month,
            "decision": decision,
            "detail": detail,
            "triggers": "; ".join(f"{t.name}: {t.why}" for t in decided.fired) or "forced",
            "window": ",".join(decided.window),
            "challenger": decided.challenger_version,
            "champion": decided.champion_version,
            **{f"challenger.{k}": f"{v:.6g}" for k, v in decided.challenger_metrics.items()},
            **{f"champion.{k}": f"{v:.6g}" for k, v in decided.champion_metrics.items()},
        }
        subject = f"model:{self.model_name}/{decided.challenger_version}"
        self.audit.record(AuditEvent(self.clock.now(), actor, RETRAIN_DECIDED, subject, details))
        return decided

    def _decide(self, run: RetrainRun, actor: str) -> tuple[str, str]:
        """(decision, detail) of a challenger that the gate has judged."""
        if not run.gate_passed:
            return RetrainDecision.CHAMPION_KEPT, f"gate refused the challenger: {run.gate_reason}"
        reason = f"{RETRAIN_REASON_PREFIX}{run.month}: {_trigger_names(run)}"
        challenger = self.promotion.candidate(self.model_name, run.challenger_version)
        mode = self.policy.decision
        if mode is DecisionMode.AUTO_PROMOTE:
            try:
                result = self.promotion.promote(challenger, actor=actor, reason=reason)
            except PromotionRefusedError as exc:
                return RetrainDecision.CHAMPION_KEPT, str(exc)
            return RetrainDecision.PROMOTED, f"v{result.version} is champion: {result.decision.reason}"
        if mode is DecisionMode.REQUEST_APPROVAL:
            if self.approvals is None:
                raise TripcastError("the policy asks for an approval, but no approval workflow is configured")
            requester = Identity(f"retrain:{actor}", Role.OPERATOR)
            request = self.approvals().request(self.model_name, challenger.version, requester=requester, reason=reason)
            return RetrainDecision.APPROVAL_REQUESTED, f"approval request {request.request_id} is {request.state.value}"
        self._park_as_challenger(challenger, actor, reason)
        detail = f"v{challenger.version} set as {CHALLENGER}: an experiment must decide"
        if self.experiments is not None and run.champion_version:
            detail = f"{detail}; {self._open_experiment(run, challenger.version, actor)}"
        return RetrainDecision.EXPERIMENT_REQUIRED, detail

    def _open_experiment(self, run: RetrainRun, challenger_version: str, actor: str) -> str:
        """Create (and start, per policy) the A/B test champion vs challenger; what happened, in one sentence.

        A refusal (an experiment of that name exists, an arm went missing) is said, not raised: the challenger
        stays parked and an operator can open the experiment by hand.
        """
        assert self.experiments is not None
        name = f"retrain-{self.model_name}-{run.month}-v{challenger_version}"
        plan = ChallengerExperimentPlan(
            self.policy.experiment_start,
            self.policy.experiment_treatment_share,
            self.policy.experiment_minimum_detectable_effect,
        )
        try:
            launched = self.experiments().launch_for_challenger(
                self.model_name,
                run.champion_version,
                challenger_version,
                name=name,
                plan=plan,
                actor=Identity(f"retrain:{actor}", Role.OPERATOR),
            )
        except TripcastError as exc:
            return f"experiment {name} not created: {exc}"
        return launched.describe()

    def _park_as_challenger(self, challenger: ModelVersion, actor: str, reason: str) -> None:
        """Point ``challenger`` at the version, audited and in the ledger like any alias move."""
        details = {
            "promotion.decision": "experiment_required",
            "promotion.actor": actor,
            "promotion.reason": reason,
            "promotion.at": self.clock.now().isoformat(timespec="seconds"),
        }
        subject = f"model:{self.model_name}/{challenger.version}"
        outcome = AuditEvent(self.clock.now(), actor, REFUSED, subject, details)
        self.promotion.move_alias(
            alias=CHALLENGER, version=challenger.version, outcome=outcome, note=LedgerNote(actor, reason)
        )

    def _last_retrained(self, month: Month) -> Month | None:
        """The newest month before ``month`` whose run trained a challenger."""
        for run in self.runs.runs(self.model_name, limit=200):
            if run.challenger_version and run.month < str(month):
                return Month.parse(run.month)
        return None

    # ------------------------------------------------------------------ status
    def status(self, limit: int = 20) -> list[RetrainRun]:
        """The newest runs, newest month first."""
        return self.runs.runs(self.model_name, limit=limit)

    # ------------------------------------------------------------------ guardrail
    def guard(self, *, actor: str = "retrain-guardrail") -> GuardVerdict:
        """Roll the champion back when its live error is worse than the previous champion's by the margin."""
        if self.rollback is None or self.live is None:
            raise TripcastError("the guardrail needs the promotion ledger and the prediction log")
        rollback = self.rollback()
        last = _last_champion_move(rollback.history(self.model_name, limit=100))
        if last is None or not last.from_version:
            return self._verdict("", "", "skipped", "no promotion with a previous champion in the ledger")
        new, previous = last.to_version, last.from_version
        if last.reason.startswith("rollback:"):
            return self._verdict(new, previous, "skipped", "the newest champion move is a rollback")
        if self.policy.guard_scope is GuardScope.AUTOMATIC and not last.reason.startswith(RETRAIN_REASON_PREFIX):
            return self._verdict(new, previous, "skipped", "the newest promotion was not automatic (policy: automatic)")
        # All of a version's logged predictions: replayed outcomes carry the trip's time, not the serving time.
        current = self.live.live_error(new)
        if current is None or current.n < self.policy.guard_min_rows:
            seen = current.n if current is not None else 0
            why = f"v{new} has {seen} labeled predictions, fewer than {self.policy.guard_min_rows}"
            return self._verdict(new, previous, "skipped", why)
        baseline, basis = self._baseline(previous)
        if baseline is None:
            return self._verdict(new, previous, "skipped", f"v{previous} has no live error nor validation RMSE")
        evidence = {"live_rmse": current.rmse, "n": current.n, "baseline_rmse": baseline, "baseline": basis}
        limit = baseline * (1 + self.policy.guard_margin)
        evidence["limit"] = limit
        if current.rmse <= limit:
            margin = f"{self.policy.guard_margin:.0%}"
            why = f"v{new} live RMSE {current.rmse:.4g} within {margin} of v{previous}'s {basis} {baseline:.4g}"
            return self._verdict(new, previous, "ok", why, evidence)
        why = (
            f"v{new} live RMSE {current.rmse:.4g} on {current.n} rows is worse than v{previous}'s {basis} "
            f"{baseline:.4g} by more than {self.policy.guard_margin:.0%}"
        )
        entry = rollback.rollback(self.model_name, actor=actor, reason=f"guardrail: {why}", to_version=previous)
        verdict = self._verdict(new, previous, "rolled_back", why, {**evidence, "ledger_id": entry.id})
        self._alert(verdict, actor)
        return verdict

    def _baseline(self, previous: str) -> tuple[float | None, str]:
        """The previous champion's live RMSE (enough rows), else its validation RMSE."""
        assert self.live is not None
        live = self.live.live_error(previous)
        if live is not None and live.n >= self.policy.guard_min_rows:
            return live.rmse, "live RMSE"
        tags = self.promotion.registry.get(self.model_name, previous).tags
        value = tags.get("val_rmse")
        return (float(value), "validation RMSE") if value else (None, "")

    def _verdict(
        self, new: str, previous: str, action: str, why: str, evidence: dict[str, Any] | None = None
    ) -> GuardVerdict:
        return GuardVerdict(self.model_name, new, previous, action, why, evidence or {})

    def _alert(self, verdict: GuardVerdict, actor: str) -> None:
        """Tell whoever is on call; the audit event is written whether or not a channel delivered."""
        subject = f"model:{self.model_name}/{verdict.champion}"
        alert = Alert(
            name="RetrainGuardrailRollback",
            severity="critical",
            summary=f"{self.model_name}: v{verdict.champion} rolled back to v{verdict.previous}: {verdict.why}",
            subject=subject,
            labels={"model": self.model_name, "from": verdict.champion, "to": verdict.previous},
            value=float(verdict.evidence.get("live_rmse", 0.0)),
        )
        delivery = "delivered"
        try:
            self.alerter.send(alert)
        except TripcastError as exc:
            delivery = f"not delivered: {exc}"
        details = {"summary": alert.summary, "severity": alert.severity, "delivery": delivery}
        self.audit.record(AuditEvent(self.clock.now(), actor, GUARDRAIL_ALERT, subject, details))


def _last_champion_move(entries: Sequence[LedgerEntry]) -> LedgerEntry | None:
    champion_moves = [e for e in entries if e.alias == CHAMPION]
    return champion_moves[-1] if champion_moves else None


def _trigger_names(run: RetrainRun) -> str:
    return ", ".join(t.name for t in run.fired) or "forced"


def _evaluation_data(gate: GateSnapshot, challenger: ModelVersion, run: RetrainRun) -> dict[str, Any]:
    """Which data both models were measured on (the same for both, by construction of the gate)."""
    return {
        "month": gate.validation_month,
        "rows": run.rows_valid,
        "digest": challenger.tags.get("valid_digest", ""),
    }

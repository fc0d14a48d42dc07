"""Promote a model version to ``champion`` through the quality gate.

An alias move and its audit event live in two stores (the registry, the audit trail), so they are
written as a small protocol that keeps them consistent without a shared transaction:

1. under the model's promotion lock, record ``model.alias_move_started`` (the intent: alias, from, to);
   if that fails, nothing moves;
2. move the alias; if that fails, record ``model.alias_move_abandoned`` and fail;
3. record the outcome (``model.promoted`` or ``model.promotion_refused``); if that fails, move the
   alias back, record the abandonment when possible, and fail.

A process killed between 1 and 3 leaves a started move with no outcome; the next promotion of that
model (under the same lock) finishes it from what the registry shows: the alias at the target gets
its outcome event (``recovered``), anything else gets ``model.alias_move_abandoned``. So the trail
never claims a move that did not happen, and every move has an intent and, after recovery, an outcome.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass, replace

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import (
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    PromotionRefusedError,
    TripcastError,
)
from tripcast.core.domain.evaluation import Evaluation, ModelVersion, PromotionDecision, decide_promotion
from tripcast.core.domain.ledger import ANY_VERSION, AliasMove, LedgerEntry, LedgerNote
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, TrainingSet
from tripcast.core.ports.ledger import PromotionLedger
from tripcast.core.ports.locks import Locks, promotion_lock
from tripcast.core.ports.table import Table
from tripcast.core.ports.tracking import ModelRegistry

CHAMPION = "champion"
CHALLENGER = "challenger"
MOVE_STARTED = "model.alias_move_started"
MOVE_ABANDONED = "model.alias_move_abandoned"
PROMOTED = "model.promoted"
REFUSED = "model.promotion_refused"
ROLLED_BACK = "model.rolled_back"
SWAPPED = "model.aliases_swapped"
#: Every event of the alias-move protocol; the newest one tells whether a move was interrupted.
ALIAS_MOVE_ACTIONS = (MOVE_STARTED, MOVE_ABANDONED, PROMOTED, REFUSED, ROLLED_BACK, SWAPPED)


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What the gate decided, for which version."""

    decision: PromotionDecision
    name: str
    version: str
    previous_champion: str | None


class Promotion:
    """The model-lifecycle use cases around aliases: evaluate, promote through the gate, recover a move.

    Collaborators come from the composition root (``tc.ml.promotion``); every alias move is audited
    and taken under the model's promotion lock.
    """

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        store: DatasetStore,
        features: FeatureBuilder,
        metrics: MetricsCalculator,
        clock: Clock,
        audit: AuditLog,
        locks: Locks,
        ledger: PromotionLedger | None = None,
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.store = store
        self.features = features
        self.metrics = metrics
        self.clock = clock
        self.audit = audit
        self.locks = locks

    def candidate(self, name: str, ref: str | None = None) -> ModelVersion:
        """The version ``ref`` names (number or alias), or the newest; NotFoundError when there is none."""
        versions = self.registry.list_versions(name)
        if not versions:
            raise NotFoundError(f"no versions of {name!r} registered yet: run `tripcast train` first")
        return self.registry.get(name, ref) if ref else versions[0]

    def evaluate(self, name: str, ref: str, trips: Table, dataset_name: str) -> tuple[Evaluation, TrainingSet]:
        """Metrics of a registered version (number or alias) on valid trips, and the dataset they came from."""
        data = self.features.training_set(trips, dataset_name)
        return evaluate_version(self.registry, self.metrics, name, ref, data), data

    def promote(
        self,
        candidate: ModelVersion,
        *,
        actor: str,
        reason: str,
        force: bool = False,
        note: LedgerNote | None = None,
    ) -> PromotionResult:
        """Gate ``candidate`` against the champion on its validation month (processed already).

        ``note`` is the ledger row's who and why when they differ from the audit event's ``actor``
        (the approval workflow: the requester as actor, the approver, an experiment id); the gate's
        metrics are always filled in. Raises :class:`PromotionRefusedError` when the gate says no;
        see :func:`promote`.
        """
        valid_month = self.validation_month(candidate)
        return promote(
            self.registry,
            self.features,
            self.metrics,
            self.clock,
            name=candidate.name,
            candidate_ref=candidate.version,
            validation_trips=self.store.load_processed(valid_month),
            validation_name=str(valid_month),
            actor=actor,
            reason=reason,
            force=force,
            audit=self.audit,
            locks=self.locks,
            ledger=self.ledger,
            note=note,
        )

    @staticmethod
    def validation_month(version: ModelVersion) -> Month:
        """The month a version was validated on (its ``valid_month`` tag): the gate's data."""
        return Month.parse(version.tags.get("valid_month", ""), "valid_month tag")

    def move_alias(
        self,
        *,
        alias: str,
        version: str,
        outcome: AuditEvent,
        note: LedgerNote | None = None,
        expected_from: str = ANY_VERSION,
    ) -> None:
        """Point ``alias`` at ``version`` and record ``outcome`` under the promotion lock (see the module docstring).

        With a ledger, the move and its ledger row (``note``; default: the outcome's actor and reason) commit
        together, provided ``alias`` is still at ``expected_from`` (:class:`StaleAliasError` otherwise).
        """
        name = outcome.subject.removeprefix("model:").rsplit("/", 1)[0]
        with self.locks.hold(promotion_lock(name), f"tripcast move {alias} of {name} to v{version}"):
            recover_interrupted_move(self.registry, self.audit, self.clock, name=name, actor=outcome.actor)
            move_alias_audited(
                self.registry,
                self.audit,
                self.clock,
                alias=alias,
                version=version,
                outcome=outcome,
                ledger=self.ledger,
                note=note,
                expected_from=expected_from,
            )

    def swap(self, name: str, *, actor: str, reason: str) -> list[LedgerEntry]:
        """Exchange ``champion`` and ``challenger`` in one ledger transaction (two alias rows, two ledger rows).

        Audited like a single move of ``champion`` (intent, then ``model.aliases_swapped``): the ledger moves
        both aliases or neither, so the champion alone tells a recovery whether the swap happened.
        """
        if self.ledger is None:
            raise TripcastError("swapping champion and challenger needs the promotion ledger")
        with self.locks.hold(promotion_lock(name), f"tripcast swap {CHAMPION} and {CHALLENGER} of {name}"):
            recover_interrupted_move(self.registry, self.audit, self.clock, name=name, actor=actor)
            champion = self.registry.alias_version(name, CHAMPION) or ""
            challenger = self.registry.alias_version(name, CHALLENGER) or ""
            if not champion or not challenger:
                shown = f"champion: {champion or 'unset'}, challenger: {challenger or 'unset'}"
                raise InvalidInputError([FieldProblem("aliases", f"a swap needs both set on {name} ({shown})")])
            subject = f"model:{name}/{challenger}"
            move = {"move_id": uuid.uuid4().hex, "alias": CHAMPION, "from": champion, "to": challenger}
            move["outcome"] = SWAPPED
            self.audit.record(AuditEvent(self.clock.now(), actor, MOVE_STARTED, subject, move))
            moves = [AliasMove(CHAMPION, challenger, champion), AliasMove(CHALLENGER, champion, challenger)]
            try:
                rows = self.ledger.move(name, moves, LedgerNote(actor, reason))
            except Exception as exc:
                if (self.registry.alias_version(name, CHAMPION) or "") == champion:
                    note = {**move, "reason": f"swap failed: {type(exc).__name__}: {exc}"}
                    self.audit.record(AuditEvent(self.clock.now(), actor, MOVE_ABANDONED, subject, note))
                raise
            details = {**move, "promotion.reason": reason, "challenger_now": champion}
            self.audit.record(AuditEvent(self.clock.now(), actor, SWAPPED, subject, details))
        return rows

    def recover_interrupted_move(self, name: str, *, actor: str) -> str:
        """Finish an alias move a dead process left open, under the promotion lock; say what was done."""
        with self.locks.hold(promotion_lock(name), f"tripcast recover {name}"):
            return recover_interrupted_move(self.registry, self.audit, self.clock, name=name, actor=actor)


def evaluate_version(
    registry: ModelRegistry,
    metrics: MetricsCalculator,
    name: str,
    ref: str,
    data: TrainingSet,
) -> Evaluation:
    """Metrics of a registered version (number or alias) on a dataset."""
    predictor = registry.load_predictor(name, ref)
    return metrics.evaluate(predictor, data)


def promote(
    registry: ModelRegistry,
    features: FeatureBuilder,
    metrics: MetricsCalculator,
    clock: Clock,
    *,
    name: str,
    candidate_ref: str,
    validation_trips: Table,
    validation_name: str,
    actor: str,
    reason: str,
    force: bool = False,
    audit: AuditLog | None = None,
    locks: Locks | None = None,
    ledger: PromotionLedger | None = None,
    note: LedgerNote | None = None,
) -> PromotionResult:
    """Move ``champion`` to the candidate if it beats the champion on the same validation data.

    Holds the model's promotion lock (``locks``) from reading the champion to moving the alias, so
    two promotions never interleave; the second raises ``LockHeldError``. The decision, who asked,
    why and when are recorded as tags on the candidate version and, with ``audit``, as audit events
    consistent with the alias (see the module docstring). Raises :class:`PromotionRefusedError`
    when the gate says no (the candidate is then parked as ``challenger``). ``note`` (default: ``actor``
    and ``reason``) is written on the ledger row, with the gate's metrics snapshot.
    """
    guard = locks.hold(promotion_lock(name), f"tripcast promote {name} {candidate_ref}") if locks else nullcontext()
    with guard:
        if audit is not None:
            recover_interrupted_move(registry, audit, clock, name=name, actor=actor)
        candidate_version = registry.get(name, candidate_ref)
        data = features.training_set(validation_trips, validation_name)
        candidate_eval = evaluate_version(registry, metrics, name, candidate_version.version, data)
        champion = registry.find_alias(name, CHAMPION)
        champion_eval = None
        if champion is not None and champion.version != candidate_version.version:
            champion_eval = evaluate_version(registry, metrics, name, champion.version, data)
        decision = decide_promotion(features.spec, candidate_eval, champion_eval, force=force)
        outcome = _decision_event(clock, name, candidate_version.version, decision, actor, reason, force, champion)
        snapshot = gate_snapshot(candidate_eval, champion_eval)
        ledger_note = replace(note, gate_metrics=snapshot) if note else LedgerNote(actor, reason, snapshot)
        move_alias_audited(
            registry,
            audit,
            clock,
            alias=CHAMPION if decision.approved else CHALLENGER,
            version=candidate_version.version,
            outcome=outcome,
            ledger=ledger,
            note=ledger_note,
            expected_from=(champion.version if champion else "") if decision.approved else ANY_VERSION,
        )
    if not decision.approved:
        raise PromotionRefusedError(f"{name} v{candidate_version.version} not promoted: {decision.reason}")
    previous = champion.version if champion is not None and champion.version != candidate_version.version else None
    return PromotionResult(decision, name, candidate_version.version, previous)


def _decision_event(
    clock: Clock,
    name: str,
    version: str,
    decision: PromotionDecision,
    actor: str,
    reason: str,
    force: bool,
    champion: ModelVersion | None,
) -> AuditEvent:
    """The gate's outcome event; its ``promotion.*`` details become the candidate version's tags."""
    audit_tags = {
        "promotion.decision": "approved" if decision.approved else "refused",
        "promotion.actor": actor,
        "promotion.reason": reason,
        "promotion.gate": decision.reason,
        "promotion.at": clock.now().isoformat(timespec="seconds"),
        "promotion.forced": str(force).lower(),
    }
    return AuditEvent(
        at=clock.now(),
        actor=actor,
        action=PROMOTED if decision.approved else REFUSED,
        subject=f"model:{name}/{version}",
        details={**audit_tags, "previous_champion": champion.version if champion else ""},
    )


def gate_snapshot(candidate: Evaluation, champion: Evaluation | None) -> dict[str, float]:
    """The gate's metrics as the ledger keeps them: ``candidate.<metric>`` and ``champion.<metric>``."""
    snapshot = {f"candidate.{k}": float(v) for k, v in candidate.metrics.items()}
    if champion is not None:
        snapshot.update({f"champion.{k}": float(v) for k, v in champion.metrics.items()})
    return snapshot


def move_alias_audited(
    registry: ModelRegistry,
    audit: AuditLog | None,
    clock: Clock,
    *,
    alias: str,
    version: str,
    outcome: AuditEvent,
    ledger: PromotionLedger | None = None,
    note: LedgerNote | None = None,
    expected_from: str = ANY_VERSION,
) -> None:
    """Point ``alias`` at ``version`` and record ``outcome``: both happen, or (after recovery) neither.

    The caller holds the model's promotion lock. ``outcome.subject`` is ``model:<name>/<version>``;
    its details become the version's tags. With a ``ledger`` the alias moves in the ledger's transaction,
    with its row (``note``) and a compare-and-set against ``expected_from``.
    """
    name = outcome.subject.removeprefix("model:").rsplit("/", 1)[0]
    tags = {k: v for k, v in outcome.details.items() if k.startswith("promotion.")}
    note = note or LedgerNote(outcome.actor, str(outcome.details.get("promotion.reason", outcome.action)))
    step = _AliasStep(registry, ledger, name, note)
    if audit is None:
        step.point(alias, version, tags, expected_from)
        return
    previous = registry.alias_version(name, alias) or ""
    move = {"move_id": uuid.uuid4().hex, "alias": alias, "from": previous, "to": version, "outcome": outcome.action}
    audit.record(AuditEvent(clock.now(), outcome.actor, MOVE_STARTED, outcome.subject, move))
    try:
        step.point(alias, version, tags, expected_from)
    except Exception as exc:
        _undo(step, audit, clock, outcome, move, f"alias move failed: {type(exc).__name__}: {exc}")
        raise
    try:
        details = {**outcome.details, **move}
        audit.record(AuditEvent(outcome.at, outcome.actor, outcome.action, outcome.subject, details))
    except Exception:
        _undo(step, audit, clock, outcome, move, "outcome not recorded; alias moved back")
        raise


@dataclass(frozen=True, slots=True)
class _AliasStep:
    """One alias move through the ledger (move + row in one transaction) or, without one, the registry."""

    registry: ModelRegistry
    ledger: PromotionLedger | None
    name: str
    note: LedgerNote

    def point(self, alias: str, version: str, tags: dict[str, str], expected_from: str = ANY_VERSION) -> None:
        """Tag ``version`` (the decision), then point ``alias`` at it ("" removes the alias)."""
        if self.ledger is None:
            if version:
                self.registry.set_alias(self.name, alias, version, tags=tags)
            else:
                self.registry.delete_alias(self.name, alias)
            return
        if version and tags:
            self.registry.tag_version(self.name, version, tags)
        self.ledger.move(self.name, [AliasMove(alias, version, expected_from)], self.note)

    def undo(self, alias: str, previous: str, reason: str) -> None:
        """Put ``alias`` back at ``previous``; the ledger records the undo as a row of its own."""
        undo_note = LedgerNote(self.note.actor, f"undo: {reason}")
        _AliasStep(self.registry, self.ledger, self.name, undo_note).point(alias, previous, {})


def recover_interrupted_move(registry: ModelRegistry, audit: AuditLog, clock: Clock, *, name: str, actor: str) -> str:
    """Finish an alias move whose process died between its intent and its outcome; say what was done.

    Call with the model's promotion lock held. The registry decides: an alias that reached the
    target gets its outcome event, anything else an abandonment. Returns "" when nothing was pending.
    """
    newest = audit.events(subject_prefix=f"model:{name}/", limit=1, actions=ALIAS_MOVE_ACTIONS)
    if not newest or newest[0].action != MOVE_STARTED:
        return ""
    started = newest[0]
    move = dict(started.details)
    current = registry.alias_version(name, move["alias"]) or ""
    if current == move["to"]:
        details = {**move, "recovered": "true", "recovered_by": actor}
        audit.record(AuditEvent(clock.now(), started.actor, move["outcome"], started.subject, details))
        return f"recorded the interrupted move of {move['alias']} to v{move['to']}, which had happened"
    note = f"interrupted; {move['alias']} found at {current or 'nothing'}, not v{move['to']}"
    audit.record(AuditEvent(clock.now(), actor, MOVE_ABANDONED, started.subject, {**move, "reason": note}))
    return f"closed the interrupted move of {move['alias']} to v{move['to']}, which had not happened"


def _undo(
    step: _AliasStep, audit: AuditLog, clock: Clock, outcome: AuditEvent, move: dict[str, str], reason: str
) -> None:
    """Put the alias back where it was and close the move as abandoned.

    Only once the registry confirms the alias is back: otherwise the move stays open in the trail and
    the next promotion records whatever the registry then shows (never an abandonment of a move that stuck).
    """
    registry, name = step.registry, step.name
    alias, previous = move["alias"], move["from"]
    try:
        if (registry.alias_version(name, alias) or "") != previous:
            step.undo(alias, previous, reason)
        if (registry.alias_version(name, alias) or "") != previous:
            return
        details = {**move, "reason": reason}
        audit.record(AuditEvent(clock.now(), outcome.actor, MOVE_ABANDONED, outcome.subject, details))
    except Exception:  # noqa: BLE001 - the move stays open in the trail; the next promotion finishes it
        return

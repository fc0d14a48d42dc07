"""Promote a model version to ``champion`` through the quality gate."""

from __future__ import annotations

from dataclasses import dataclass

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import PromotionRefusedError
from tripcast.core.domain.evaluation import Evaluation, PromotionDecision, decide_promotion
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, TrainingSet
from tripcast.core.ports.table import Table
from tripcast.core.ports.tracking import ModelRegistry

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What the gate decided, for which version."""

    decision: PromotionDecision
    name: str
    version: str
    previous_champion: str | None


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
) -> PromotionResult:
    """Move ``champion`` to the candidate if it beats the champion on the same validation data.

    The decision, who asked, why and when are recorded as tags on the candidate version.
    Raises :class:`PromotionRefusedError` when the gate says no.
    """
    candidate_version = registry.get(name, candidate_ref)
    data = features.training_set(validation_trips, validation_name)
    candidate_eval = evaluate_version(registry, metrics, name, candidate_version.version, data)
    champion = registry.find_alias(name, CHAMPION)
    champion_eval = None
    if champion is not None and champion.version != candidate_version.version:
        champion_eval = evaluate_version(registry, metrics, name, champion.version, data)
    decision = decide_promotion(features.spec, candidate_eval, champion_eval, force=force)
    stamp = clock.now().isoformat(timespec="seconds")
    audit_tags = {
        "promotion.decision": "approved" if decision.approved else "refused",
        "promotion.actor": actor,
        "promotion.reason": reason,
        "promotion.gate": decision.reason,
        "promotion.at": stamp,
        "promotion.forced": str(force).lower(),
    }
    if audit is not None:
        audit.record(
            AuditEvent(
                at=clock.now(),
                actor=actor,
                action="model.promoted" if decision.approved else "model.promotion_refused",
                subject=f"model:{name}/{candidate_version.version}",
                details={**audit_tags, "previous_champion": champion.version if champion else ""},
            )
        )
    if not decision.approved:
        registry.set_alias(name, CHALLENGER, candidate_version.version, tags=audit_tags)
        raise PromotionRefusedError(f"{name} v{candidate_version.version} not promoted: {decision.reason}")
    registry.set_alias(name, CHAMPION, candidate_version.version, tags=audit_tags)
    previous = champion.version if champion is not None and champion.version != candidate_version.version else None
    return PromotionResult(decision, name, candidate_version.version, previous)

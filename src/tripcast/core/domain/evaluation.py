"""Model quality on a named dataset, and the gate that promotes a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tripcast.core.domain.model_spec import ModelSpec


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Metrics of one model version on one dataset."""

    metrics: dict[str, float]
    n: int
    dataset: str
    dataset_digest: str = ""

    def metric(self, name: str) -> float:
        """A metric by name, with an error listing the ones that exist."""
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"metric {name!r} not in evaluation (have {sorted(self.metrics)})") from None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered model version as the registry describes it."""

    name: str
    version: str
    aliases: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: str = ""
    created_at: datetime | None = None
    run_id: str = ""


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    """The gate's verdict, with the reason recorded on the registry."""

    approved: bool
    reason: str
    candidate_score: float
    champion_score: float | None


def decide_promotion(
    spec: ModelSpec,
    candidate: Evaluation,
    champion: Evaluation | None,
    *,
    force: bool = False,
) -> PromotionDecision:
    """Approve the candidate only if it beats the champion on the same data (or ``force``)."""
    metric = spec.primary_metric
    candidate_score = candidate.metric(metric)
    if champion is None:
        return PromotionDecision(
            True, f"no current champion; candidate {metric}={candidate_score:.4f}", candidate_score, None
        )
    if champion.dataset_digest and candidate.dataset_digest and champion.dataset_digest != candidate.dataset_digest:
        raise ValueError(
            f"candidate evaluated on {candidate.dataset} ({candidate.dataset_digest}) but champion on "
            f"{champion.dataset} ({champion.dataset_digest}); the gate needs the same data"
        )
    champion_score = champion.metric(metric)
    beats = spec.is_better(candidate_score, champion_score)
    comparison = (
        f"candidate {metric}={candidate_score:.4f} vs champion {metric}={champion_score:.4f} on {candidate.dataset}"
    )
    if beats:
        return PromotionDecision(True, f"better: {comparison}", candidate_score, champion_score)
    if force:
        return PromotionDecision(True, f"forced although not better: {comparison}", candidate_score, champion_score)
    return PromotionDecision(False, f"not better: {comparison}", candidate_score, champion_score)

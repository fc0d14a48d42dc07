"""The model-card use case: document a registered version and keep the card with it in the registry.

The card is computed, not typed: training data and params from the tracking server, metrics overall
and per slice from the version itself on its validation month (the data the promotion gate used), the
previous champion on the same rows, alias moves over time, approvals from the audit trail. Writing one
records ``model.card_written``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.model_card import (
    CARD_HTML,
    CARD_MARKDOWN,
    CARD_WRITTEN,
    AliasChange,
    ApprovalRecord,
    ComparedVersion,
    ModelCard,
    SliceMetrics,
    TrainingRecord,
    WrittenCard,
)
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, Predictor, TrainingSet
from tripcast.core.ports.model_card import AliasHistory, CardRenderer, CardStore, DataSlicer, TrainingRecords
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.core.services.promotion import CHAMPION, Promotion

#: Audit actions of an approval workflow are recognised by these words (``model.approval_requested``,
#: ``model.approved``, ``model.rejected``...), so the card lists them whoever names them.
APPROVAL_ACTION_WORDS = ("request", "approv", "reject")
#: How many audit events of one version the card reads for its approvals.
MAX_VERSION_EVENTS = 1000


class ModelCards:
    """Writes model cards (``tripcast models card VERSION``); collaborators come from the root."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        store: DatasetStore,
        features: FeatureBuilder,
        metrics: MetricsCalculator,
        slicer: DataSlicer,
        training_records: TrainingRecords,
        alias_history: AliasHistory,
        renderer: CardRenderer,
        card_store: CardStore,
        audit: AuditLog,
        clock: Clock,
        intended_use: str,
        limitations: Sequence[str] = (),
    ) -> None:
        self.registry = registry
        self.store = store
        self.features = features
        self.metrics = metrics
        self.slicer = slicer
        self.training_records = training_records
        self.alias_history = alias_history
        self.renderer = renderer
        self.card_store = card_store
        self.audit = audit
        self.clock = clock
        self.intended_use = intended_use
        self.limitations = tuple(limitations)

    def write(self, name: str, ref: str, *, actor: str) -> WrittenCard:
        """Build the card of ``name`` at ``ref`` (number or alias), store Markdown and HTML with the version,
        and audit it. NotFoundError (naming what exists) for an unknown version, before anything is written."""
        card = self.build(name, ref)
        markdown, html = self.renderer.markdown(card), self.renderer.html(card)
        artifacts = self.card_store.store(card.version, {CARD_MARKDOWN: markdown, CARD_HTML: html})
        details = {
            "evaluation_month": card.evaluation_month,
            "rows": str(card.overall.n),
            f"{card.spec.primary_metric}": f"{card.overall.metric(card.spec.primary_metric):.6g}",
            "previous_champion": card.previous_champion.version if card.previous_champion else "",
            **{f"artifact.{file_name}": uri for file_name, uri in artifacts.items()},
        }
        subject = f"model:{name}/{card.version.version}"
        self.audit.record(AuditEvent(self.clock.now(), actor, CARD_WRITTEN, subject, details))
        return WrittenCard(card, markdown, html, artifacts)

    def build(self, name: str, ref: str) -> ModelCard:
        """The card's content, computed from the registry, tracking server, data and audit trail."""
        version = self.registry.get(name, ref)
        month = self.evaluation_month(version)
        data = self.features.training_set(self.store.load_processed(month), str(month))
        overall, slices = self._evaluated(self.registry.load_predictor(name, version.version), data)
        history = tuple(self.alias_history.changes(name))
        return ModelCard(
            version=version,
            spec=self.features.spec,
            written_at=self.clock.now(),
            intended_use=self.intended_use,
            limitations=self.limitations,
            training=self._training(version),
            evaluation_month=str(month),
            overall=overall,
            slices=slices,
            dimensions=tuple(self.slicer.dimensions),
            previous_champion=self._previous_champion(version, history, data),
            alias_history=history,
            approvals=self._approvals(version),
        )

    @staticmethod
    def evaluation_month(version: ModelVersion) -> Month:
        """The month a card evaluates ``version`` on: its validation month (the promotion gate's data)."""
        if not version.tags.get("valid_month"):
            raise NotFoundError(
                f"{version.name} v{version.version} has no valid_month tag: a card evaluates the version on the "
                "month it was validated on (versions registered by `tripcast train` carry it)"
            )
        return Promotion.validation_month(version)

    def _training(self, version: ModelVersion) -> TrainingRecord:
        if not version.run_id:
            return TrainingRecord(run_id="")
        return self.training_records.training_record(version.run_id)

    def _evaluated(self, predictor: Predictor, data: TrainingSet) -> tuple[Evaluation, tuple[SliceMetrics, ...]]:
        """The predictor's metrics on ``data`` and on every slice of it, from one prediction pass."""
        sliced = self.slicer.predict_and_split(data, predictor)
        per_slice = []
        for piece in sliced.slices:
            evaluation = self.metrics.evaluate(piece.predictions, piece.rows)
            per_slice.append(SliceMetrics(piece.dimension, piece.label, evaluation.n, evaluation.metrics))
        return self.metrics.evaluate(sliced.overall, data), tuple(per_slice)

    def _previous_champion(
        self, version: ModelVersion, history: tuple[AliasChange, ...], data: TrainingSet
    ) -> ComparedVersion | None:
        """The champion this version replaced (or, if it never was champion, the one it would replace),
        evaluated on the same rows."""
        became = [c for c in history if c.alias == CHAMPION and c.version == version.version and c.previous]
        if became:
            other, why = (
                became[0].previous,
                f"champion before v{version.version} was promoted ({became[0].at:%Y-%m-%d})",
            )
        else:
            current = self.registry.alias_version(version.name, CHAMPION)
            if current is None or current == version.version:
                return None
            other, why = current, "current champion"
        overall, slices = self._evaluated(self.registry.load_predictor(version.name, other), data)
        return ComparedVersion(other, why, overall, slices)

    def _approvals(self, version: ModelVersion) -> tuple[ApprovalRecord, ...]:
        """Approval-workflow steps recorded on this version, oldest first."""
        events = self.audit.events(subject_prefix=f"model:{version.name}/{version.version}", limit=MAX_VERSION_EVENTS)
        subject = f"model:{version.name}/{version.version}"
        steps = [
            ApprovalRecord(e.at, e.actor, e.action, dict(e.details))
            for e in events
            if e.subject == subject and any(word in e.action for word in APPROVAL_ACTION_WORDS)
        ]
        return tuple(sorted(steps, key=lambda s: s.at))

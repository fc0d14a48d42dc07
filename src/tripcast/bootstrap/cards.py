"""Wiring of model cards (``tc.cards``): the generic card machinery with the problem's slices and prose."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.core.services.model_card import ModelCards


def build_model_cards(root: Tripcast) -> ModelCards:
    """The card use case on the root's registry, data, metrics and audit trail (expert level: built lazily)."""
    from tripcast.core.services.model_card import ModelCards
    from tripcast.data_engineering.features.card_facts import (
        TRIP_INTENDED_USE,
        TRIP_LIMITATIONS,
        trip_slice_dimensions,
    )
    from tripcast.mlops.model_cards.card_store import MlflowCardStore
    from tripcast.mlops.model_cards.lineage import AuditAliasHistory, MlflowTrainingRecords
    from tripcast.mlops.model_cards.render import MarkdownHtmlCardRenderer
    from tripcast.mlops.model_cards.slicing import ColumnSlicer

    tracking_uri = root.tracking_store_uri
    return ModelCards(
        registry=root.registry,
        store=root.store,
        features=root.features,
        metrics=root.metrics,
        slicer=ColumnSlicer(trip_slice_dimensions(), root.features.spec.feature_names),
        training_records=MlflowTrainingRecords(tracking_uri),
        alias_history=AuditAliasHistory(root.audit),
        renderer=MarkdownHtmlCardRenderer(),
        card_store=MlflowCardStore(tracking_uri),
        audit=root.audit,
        clock=root.clock,
        intended_use=TRIP_INTENDED_USE,
        limitations=TRIP_LIMITATIONS,
    )

"""Wiring of batch scoring (``tripcast score``): file source, Arrow checks, features, parquet outputs.

The registry (MLflow) and the audit trail (SQL) are reached on first use, so a command refuses bad
paths (:meth:`BatchScoring.plan`) before paying for either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tripcast.core.ports.batch_scoring import ColumnFeatureBuilder
from tripcast.core.ports.learning import Predictor
from tripcast.core.services.batch_scoring import BatchScoring

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast


class RegistryOnFirstUse:
    """Loads predictors through the container's registry, built when the first version is loaded."""

    def __init__(self, tc: Tripcast) -> None:
        self._tc = tc

    def load_predictor(self, name: str, ref: str) -> Predictor:
        """The version ``ref`` of model ``name`` from the registry."""
        return self._tc.registry.load_predictor(name, ref)


def column_features(tc: Tripcast) -> ColumnFeatureBuilder:
    """The spine builder builds batch features from columns; the feature-store builder needs requests."""
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder

    builder = tc.features
    if isinstance(builder, TripFeatureBuilder):
        return builder
    from tripcast.mlops.serving.batch.features import RequestColumnFeatures

    return RequestColumnFeatures(builder)


def build_batch_scoring(tc: Tripcast) -> BatchScoring:
    """The ``tripcast score`` use case over the registry, the audit trail and TLC column names."""
    from tripcast.bootstrap import tracer_of
    from tripcast.data_engineering.tlc.schema import TLC_TO_CANONICAL
    from tripcast.mlops.serving.batch.scoring import batch_scorer

    return BatchScoring(
        scorer=batch_scorer(column_features(tc), TLC_TO_CANONICAL),
        predictors=RegistryOnFirstUse(tc),
        audit=tc.audit_on_first_use,
        clock=tc.clock,
        model_name=tc.settings.model_name,
        tracer=tracer_of(tc.settings),
    )

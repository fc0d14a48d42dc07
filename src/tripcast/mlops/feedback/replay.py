"""Replaying a month through a registered version, as if each valid trip had been served and its outcome logged.

Used when no prediction logs exist (a new deployment, a back-fill): the month's valid rows are the
requests, their recorded outcomes the ground truth, their event time the prediction time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import TripDataSource, TripValidator
from tripcast.core.ports.feedback import Actual, LoggedPrediction, ReplayedMonth
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.core.ports.tracking import ModelRegistry


@dataclass(frozen=True, slots=True)
class ReplayColumns:
    """Which columns of a valid row hold the event time and the slice key (injected: no domain knowledge here)."""

    time: str
    slice_key: str


class SourceMonthReplayer:
    """Loads, validates and featurises a month, then predicts it with one registered version."""

    def __init__(
        self,
        *,
        source: TripDataSource,
        validator: TripValidator,
        features: FeatureBuilder,
        registry: ModelRegistry,
        model_name: str,
        columns: ReplayColumns,
        segment_of: Callable[[int], str],
    ) -> None:
        self.source = source
        self.validator = validator
        self.features = features
        self.registry = registry
        self.model_name = model_name
        self.columns = columns
        self.segment_of = segment_of

    def replay(self, month: Month, model_ref: str) -> ReplayedMonth:
        import pandas as pd

        version = self.registry.get(self.model_name, model_ref)
        raw = self.source.load(month)
        valid = self.validator.split(raw).valid.reset_index(drop=True)
        if len(valid) == 0:
            return ReplayedMonth(self.model_name, version.version, [], [], raw.digest)
        data = self.features.training_set(valid, f"replay-{month}")
        predictor = self.registry.load_predictor(self.model_name, version.version)
        predicted = [float(m) for m in predictor.predict_features(data.features)]
        digests = pd.util.hash_pandas_object(data.features, index=False).map("{:016x}".format).tolist()
        keys = valid[self.columns.slice_key].astype(int).tolist()
        times = pd.to_datetime(valid[self.columns.time]).dt.tz_localize(None).to_numpy("datetime64[us]").tolist()
        ids = [f"replay:{month}:{i}" for i in range(len(valid))]
        segments = {key: self.segment_of(key) for key in set(keys)}
        predictions = [
            LoggedPrediction(rid, self.model_name, version.version, digest, segments[key], key, minutes, at)
            for rid, digest, key, minutes, at in zip(ids, digests, keys, predicted, times, strict=True)
        ]
        actuals = [Actual(rid, float(y)) for rid, y in zip(ids, data.target, strict=True)]
        return ReplayedMonth(self.model_name, version.version, predictions, actuals, data.digest)

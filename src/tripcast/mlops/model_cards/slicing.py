"""Slicing an evaluation dataset by feature columns (bands of a numeric column, names of category codes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tripcast.core.domain.model_card import SliceDimension
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor, TrainingSet
from tripcast.core.ports.model_card import DataSlicer, SlicedPredictions, SliceRows


class RecordedPredictions(Predictor):
    """Predictions already made by a model version, answered again for the same rows (no model call)."""

    def __init__(self, model_name: str, model_version: str, predictions: np.ndarray) -> None:
        self.model_name = model_name
        self.model_version = model_version
        self.predictions = predictions

    def predict_features(self, features: Any) -> Any:
        if len(features) != len(self.predictions):
            raise ValueError(f"{len(self.predictions)} recorded predictions asked for {len(features)} rows")
        return self.predictions

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        raise TypeError("recorded predictions answer only the rows they were made for")


class ColumnSlicer(DataSlicer):
    """Cuts a feature table along each dimension; a dimension's slices cover every row exactly once.

    The model predicts the whole table once (in ``feature_names`` order); each slice replays its share.
    """

    def __init__(self, dimensions: Sequence[SliceDimension], feature_names: Sequence[str]) -> None:
        self.dimensions = tuple(dimensions)
        self.feature_names = list(feature_names)

    def predict_and_split(self, data: TrainingSet, predictor: Predictor) -> SlicedPredictions:
        frame = pd.DataFrame(data.features)
        predicted = np.asarray(predictor.predict_features(frame[self.feature_names]), dtype=np.float64).reshape(-1)
        target = np.asarray(data.target)
        name, version = predictor.model_name, predictor.model_version
        slices = []
        for dimension in self.dimensions:
            if dimension.column not in frame.columns:
                raise ValueError(f"slice {dimension.name!r}: column {dimension.column!r} not in {data.name!r}")
            labels = slice_labels(dimension, frame[dimension.column].to_numpy())
            for label in _ordered(dimension, labels):
                mask = labels == label
                rows = TrainingSet(
                    features=frame.loc[mask],
                    target=target[mask],
                    name=f"{data.name} [{dimension.name}={label}]",
                    digest=f"{data.digest}:{dimension.name}={label}",
                )
                replay = RecordedPredictions(name, version, predicted[mask])
                slices.append(SliceRows(dimension.name, str(label), rows, replay))
        return SlicedPredictions(RecordedPredictions(name, version, predicted), slices)


def slice_labels(dimension: SliceDimension, values: np.ndarray) -> np.ndarray:
    """The slice label of every value (an object array)."""
    if dimension.edges:
        bands = np.digitize(np.asarray(values, dtype=np.float64), np.asarray(dimension.edges), right=False)
        return np.asarray(dimension.labels, dtype=object)[bands]
    codes = np.asarray(values).astype(np.int64)
    return np.asarray([dimension.categories.get(int(code), str(int(code))) for code in codes], dtype=object)


def _ordered(dimension: SliceDimension, labels: np.ndarray) -> list[str]:
    """Labels present in ``labels``: bands in band order, categories by descending row count."""
    present, counts = np.unique(labels.astype(str), return_counts=True)
    if dimension.edges:
        return [label for label in dimension.labels if label in set(present)]
    return [str(label) for _, label in sorted(zip(-counts, present, strict=True))]

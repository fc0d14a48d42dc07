"""Slicing an evaluation dataset by feature columns (bands of a numeric column, names of category codes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tripcast.core.domain.model_card import SliceDimension
from tripcast.core.ports.learning import TrainingSet
from tripcast.core.ports.model_card import DataSlicer


class ColumnSlicer(DataSlicer):
    """Cuts a feature table along each dimension; a dimension's slices cover every row exactly once."""

    def __init__(self, dimensions: Sequence[SliceDimension]) -> None:
        self.dimensions = tuple(dimensions)

    def split(self, data: TrainingSet) -> list[tuple[str, str, TrainingSet]]:
        frame = pd.DataFrame(data.features)
        target = np.asarray(data.target)
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
                slices.append((dimension.name, str(label), rows))
        return slices


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

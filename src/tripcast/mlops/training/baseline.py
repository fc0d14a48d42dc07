"""A linear baseline every candidate must beat: one-hot pair of ids plus numeric columns.

``DictVectorizer`` one-hot encodes the ``"<a>_<b>"`` string of two id columns (for
trips: pickup and dropoff zone) and passes numeric columns through;
``LinearRegression`` fits on that. Column names are constructor arguments, so the
baseline works for any spec that has such columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import ModelTrainer, TrainedModel, TrainingSet

FLAVOR: Final = "sklearn"
PAIR_KEY: Final = "pair"


def to_records(
    features: pd.DataFrame | np.ndarray,
    *,
    columns: Sequence[str],
    pair_columns: Sequence[str],
    numeric_columns: Sequence[str],
) -> list[dict[str, Any]]:
    """Rows as dicts: the pair id as a string (one-hot by DictVectorizer) and the numeric values.

    Module-level (not a lambda) so that the fitted pipeline pickles and loads anywhere.
    Accepts a DataFrame with named columns or a matrix in ``columns`` order.
    """
    frame = features if isinstance(features, pd.DataFrame) else pd.DataFrame(features, columns=list(columns))
    first, second = (frame[c].to_numpy(dtype=np.int64) for c in pair_columns)
    pair = np.char.add(np.char.add(first.astype(str), "_"), second.astype(str))
    numeric = {c: frame[c].to_numpy(dtype=np.float64) for c in numeric_columns}
    return [
        {PAIR_KEY: str(pair[i]), **{c: float(values[i]) for c, values in numeric.items()}} for i in range(len(frame))
    ]


class LinearBaselineModel(TrainedModel):
    """A fitted baseline; ``native`` is the sklearn :class:`~sklearn.pipeline.Pipeline`."""

    flavor = FLAVOR
    #: Our own functions inside the pipeline, which skops may deserialise.
    skops_trusted_types: tuple[str, ...] = (f"{to_records.__module__}.{to_records.__qualname__}",)

    def __init__(self, pipeline: Pipeline, spec: ModelSpec, params: dict[str, Any]) -> None:
        self.native = pipeline
        self.spec = spec
        self.params = params

    def predict(self, features: Any) -> np.ndarray:
        """Predictions for a feature DataFrame or a float matrix in spec order."""
        return np.asarray(self.native.predict(features), dtype=np.float64)

    def feature_importance(self) -> dict[str, float]:
        """Mean absolute coefficient per input (the pair's one-hot columns pooled)."""
        vectorizer: DictVectorizer = self.native.named_steps["vectorize"]
        coefs = np.abs(self.native.named_steps["regress"].coef_)
        pooled: dict[str, list[float]] = {}
        for name, coef in zip(vectorizer.get_feature_names_out(), coefs, strict=True):
            key = PAIR_KEY if name.startswith(f"{PAIR_KEY}=") else str(name)
            pooled.setdefault(key, []).append(float(coef))
        return {key: float(np.mean(values)) for key, values in pooled.items()}


class LinearBaselineTrainer(ModelTrainer):
    """Fits the one-hot-pair + linear-regression baseline for ``spec``."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        pair_columns: tuple[str, str] = ("pickup_zone", "dropoff_zone"),
        numeric_columns: tuple[str, ...] = ("trip_distance",),
    ) -> None:
        unknown = [c for c in (*pair_columns, *numeric_columns) if c not in spec.feature_names]
        if unknown:
            raise ValueError(f"baseline columns {unknown} are not features of spec {spec.name!r}")
        self.spec = spec
        self.pair_columns = pair_columns
        self.numeric_columns = numeric_columns

    def fit(self, train: TrainingSet, valid: TrainingSet) -> LinearBaselineModel:
        """Fit on ``train``; ``valid`` is unused (a closed-form fit needs no stopping rule)."""
        del valid
        pipeline = Pipeline(
            [
                (
                    "records",
                    FunctionTransformer(
                        to_records,
                        kw_args={
                            "columns": self.spec.feature_names,
                            "pair_columns": self.pair_columns,
                            "numeric_columns": self.numeric_columns,
                        },
                    ),
                ),
                ("vectorize", DictVectorizer()),
                ("regress", LinearRegression()),
            ]
        )
        pipeline.fit(train.features[self.spec.feature_names], np.asarray(train.target, dtype=np.float64))
        params = {
            "model": "DictVectorizer+LinearRegression",
            "pair_columns": ",".join(self.pair_columns),
            "numeric_columns": ",".join(self.numeric_columns),
            "n_train": len(train),
        }
        return LinearBaselineModel(pipeline, self.spec, params)

"""The reference profile: everything drift checks need from the training data, computed once.

A profile is built from the training features (and the model's predictions on them),
serialised to JSON and stored with the model version, so that checking a new month never
rescans the training data. Per numeric feature it keeps exact value counts or a quantile
sketch, a fixed-size random sample (for KS tests), mean, std and null rate; per categorical
feature the category counts and null rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.model_spec import FeatureKind, ModelSpec
from tripcast.mlops.drift_detection.distributions import (
    DEFAULT_MAX_EXACT,
    CategoryCounts,
    NumericAtoms,
    finite_values,
    summarise_categorical,
    summarise_numeric,
)

PROFILE_FORMAT_VERSION = 1
#: Name of the profile predictions get; it cannot clash with a spec feature (checked).
PREDICTION_COLUMN = "prediction"
DEFAULT_SAMPLE_SIZE = 5_000


@dataclass(frozen=True, slots=True)
class NumericProfile:
    """Reference summary of one numeric column."""

    atoms: NumericAtoms
    mean: float
    std: float
    minimum: float
    maximum: float
    null_rate: float
    sample: np.ndarray

    @classmethod
    def build(cls, column: Any, *, max_exact: int, sample_size: int, seed: int) -> NumericProfile:
        values, n_null = finite_values(column)
        total = values.size + n_null
        if values.size:
            rng = np.random.default_rng(seed)
            take = min(sample_size, values.size)
            sample = np.sort(rng.choice(values, size=take, replace=False)) if take < values.size else np.sort(values)
            mean, std, lo, hi = float(values.mean()), float(values.std()), float(values.min()), float(values.max())
        else:
            sample, mean, std, lo, hi = np.empty(0), float("nan"), float("nan"), float("nan"), float("nan")
        return cls(
            atoms=summarise_numeric(values, max_exact),
            mean=mean,
            std=std,
            minimum=lo,
            maximum=hi,
            null_rate=n_null / total if total else 0.0,
            sample=sample,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": FeatureKind.NUMERIC.value,
            "atoms": self.atoms.to_dict(),
            "mean": _json_float(self.mean),
            "std": _json_float(self.std),
            "min": _json_float(self.minimum),
            "max": _json_float(self.maximum),
            "null_rate": self.null_rate,
            "sample": self.sample.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericProfile:
        return cls(
            atoms=NumericAtoms.from_dict(data["atoms"]),
            mean=_float(data["mean"]),
            std=_float(data["std"]),
            minimum=_float(data["min"]),
            maximum=_float(data["max"]),
            null_rate=float(data["null_rate"]),
            sample=np.asarray(data["sample"], dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class CategoricalProfile:
    """Reference summary of one categorical column."""

    counts: CategoryCounts
    null_rate: float

    @classmethod
    def build(cls, column: Any) -> CategoricalProfile:
        counts, n_null = summarise_categorical(column)
        total = counts.n + n_null
        return cls(counts=counts, null_rate=n_null / total if total else 0.0)

    def frequencies(self) -> dict[Any, float]:
        """Share of each category among non-null values."""
        return {k: c / self.counts.n for k, c in self.counts.counts.items()} if self.counts.n else {}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": FeatureKind.CATEGORICAL.value, **self.counts.to_dict(), "null_rate": self.null_rate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalProfile:
        return cls(counts=CategoryCounts.from_dict(data), null_rate=float(data["null_rate"]))


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """Per-feature reference summaries for one model, plus its prediction distribution."""

    spec_name: str
    features: dict[str, ColumnProfile]
    kinds: dict[str, FeatureKind]
    n_rows: int
    prediction: NumericProfile | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        spec: ModelSpec,
        features: pd.DataFrame,
        predictions: Any = None,
        *,
        max_exact: int = DEFAULT_MAX_EXACT,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        seed: int = 0,
        metadata: dict[str, str] | None = None,
    ) -> ReferenceProfile:
        """Profile ``features`` (one column per spec feature) and optionally the model's ``predictions``."""
        check_columns(spec, features)
        if PREDICTION_COLUMN in spec.feature_names:
            raise InvalidInputError([FieldProblem(PREDICTION_COLUMN, "a feature may not be named like predictions")])
        profiles: dict[str, ColumnProfile] = {}
        for i, feature in enumerate(spec.features):
            column = features[feature.name]
            if feature.kind is FeatureKind.NUMERIC:
                profiles[feature.name] = NumericProfile.build(
                    column, max_exact=max_exact, sample_size=sample_size, seed=seed + i
                )
            else:
                profiles[feature.name] = CategoricalProfile.build(column)
        prediction = None
        if predictions is not None:
            preds = np.asarray(predictions, dtype=np.float64).ravel()
            if preds.size != len(features):
                raise InvalidInputError(
                    [FieldProblem("predictions", f"{preds.size} predictions for {len(features)} feature rows")]
                )
            prediction = NumericProfile.build(
                preds, max_exact=max_exact, sample_size=sample_size, seed=seed + len(spec.features)
            )
        return cls(
            spec_name=spec.name,
            features=profiles,
            kinds={f.name: f.kind for f in spec.features},
            n_rows=len(features),
            prediction=prediction,
            metadata=dict(metadata or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": PROFILE_FORMAT_VERSION,
            "spec_name": self.spec_name,
            "n_rows": self.n_rows,
            "created_at": self.created_at,
            "metadata": self.metadata,
            "features": {name: profile.to_dict() for name, profile in self.features.items()},
            "prediction": self.prediction.to_dict() if self.prediction is not None else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        version = data.get("format_version")
        if version != PROFILE_FORMAT_VERSION:
            raise InvalidInputError(
                [FieldProblem("format_version", f"profile format {version!r} is not {PROFILE_FORMAT_VERSION}")]
            )
        features: dict[str, ColumnProfile] = {}
        kinds: dict[str, FeatureKind] = {}
        for name, item in data["features"].items():
            kind = FeatureKind(item["kind"])
            kinds[name] = kind
            features[name] = (
                NumericProfile.from_dict(item) if kind is FeatureKind.NUMERIC else CategoricalProfile.from_dict(item)
            )
        prediction = NumericProfile.from_dict(data["prediction"]) if data.get("prediction") else None
        return cls(
            spec_name=data["spec_name"],
            features=features,
            kinds=kinds,
            n_rows=int(data["n_rows"]),
            prediction=prediction,
            created_at=data.get("created_at", ""),
            metadata=dict(data.get("metadata", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        return cls.from_dict(json.loads(text))

    def check_matches(self, spec: ModelSpec) -> None:
        """Refuse a profile built for other features or other feature kinds."""
        problems = []
        for feature in spec.features:
            kind = self.kinds.get(feature.name)
            if kind is None:
                problems.append(FieldProblem(feature.name, "feature is missing from the reference profile"))
            elif kind is not feature.kind:
                problems.append(FieldProblem(feature.name, f"profiled as {kind.value}, spec says {feature.kind.value}"))
        if problems:
            raise InvalidInputError(problems)


def check_columns(spec: ModelSpec, frame: pd.DataFrame) -> None:
    """Every spec feature must be a column of ``frame``."""
    missing = [name for name in spec.feature_names if name not in frame.columns]
    if missing:
        raise InvalidInputError([FieldProblem(name, "feature column is missing from the data") for name in missing])


def _json_float(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _float(value: float | None) -> float:
    return float("nan") if value is None else float(value)

"""Data and prediction drift of current data against a stored reference profile."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError
from tripcast.core.domain.model_spec import FeatureKind, ModelSpec
from tripcast.mlops.drift_detection.distributions import (
    DEFAULT_MAX_EXACT,
    CategoryCounts,
    NumericAtoms,
    finite_values,
    summarise_categorical,
    summarise_numeric,
)
from tripcast.mlops.drift_detection.profile import (
    PREDICTION_COLUMN,
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    check_columns,
)
from tripcast.mlops.drift_detection.stattests import (
    DriftMethod,
    TestResult,
    categorical_test,
    numeric_test,
    parse_method,
)


class InsufficientDataError(TripcastError):
    """Too few current rows for a drift verdict: a check on no data must fail, never pass."""


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """Thresholds and methods (``None`` means Evidently's defaults), and the fewest current rows judged.

    ``min_rows`` is at least 1: a check of zero rows scores nothing, and nothing must never read as "ok".
    """

    drift_share: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    max_exact: int = DEFAULT_MAX_EXACT
    min_rows: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.drift_share <= 1:
            raise InvalidInputError([FieldProblem("drift_share", f"must be in (0, 1], got {self.drift_share}")])
        if self.min_rows < 1:
            raise InvalidInputError([FieldProblem("min_rows", f"must be at least 1, got {self.min_rows}")])
        for column, name in self.methods.items():
            parse_method(name, column)


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift verdict for one column, with the summaries behind it (kept in memory for plots).

    A column whose test gives no score (NaN: no comparable current values, e.g. all null) is
    ``inconclusive`` and counts as drifted: a monitor that cannot tell must raise its hand.
    """

    column: str
    kind: FeatureKind
    method: DriftMethod
    score: float
    threshold: float
    drifted: bool
    reference_null_rate: float
    current_null_rate: float
    current_rows: int
    current: NumericAtoms | CategoryCounts = field(repr=False, compare=False)

    @property
    def inconclusive(self) -> bool:
        """Whether the test produced no score (NaN or infinite)."""
        return not np.isfinite(self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "method": self.method.value,
            "score": _finite_or_none(self.score),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "inconclusive": self.inconclusive,
            "reference_null_rate": self.reference_null_rate,
            "current_null_rate": self.current_null_rate,
            "current_rows": self.current_rows,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Per-feature drift, the dataset verdict and prediction drift."""

    spec_name: str
    columns: list[ColumnDrift]
    drift_share: float
    prediction: ColumnDrift | None
    n_current: int
    n_reference: int
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def n_drifted(self) -> int:
        return sum(c.drifted for c in self.columns)

    @property
    def share_drifted(self) -> float:
        return self.n_drifted / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        """Evidently's rule: drifted share at or above ``drift_share``."""
        return bool(self.columns) and self.share_drifted >= self.drift_share

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def inconclusive_columns(self) -> list[str]:
        """Columns (and the prediction) whose test gave no score; each also counts as drifted."""
        return [c.column for c in [*self.columns, *([self.prediction] if self.prediction else [])] if c.inconclusive]

    def column(self, name: str) -> ColumnDrift:
        for item in self.columns:
            if item.column == name:
                return item
        raise KeyError(f"no column {name!r} in drift report (have {[c.column for c in self.columns]})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec_name": self.spec_name,
            "created_at": self.created_at,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "drift_share_threshold": self.drift_share,
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "drifted_columns": self.drifted_columns,
            "inconclusive_columns": self.inconclusive_columns,
            "columns": [c.to_dict() for c in self.columns],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "metadata": self.metadata,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


class DriftDetector:
    """Compares current feature frames (and predictions) with a reference profile.

    Generic: it knows features only through the :class:`ModelSpec`.
    """

    def __init__(self, spec: ModelSpec, profile: ReferenceProfile, config: DriftConfig | None = None) -> None:
        profile.check_matches(spec)
        self.spec = spec
        self.profile = profile
        self.config = config or DriftConfig()
        unknown = (set(self.config.thresholds) | set(self.config.methods)) - {*spec.feature_names, PREDICTION_COLUMN}
        if unknown:
            raise InvalidInputError([FieldProblem(n, "override names no feature of the spec") for n in sorted(unknown)])

    def check(
        self, current: pd.DataFrame, predictions: Any = None, *, metadata: dict[str, str] | None = None
    ) -> DriftReport:
        """Drift of every spec feature in ``current`` (and of ``predictions`` when given).

        Raises :class:`InsufficientDataError` below ``config.min_rows`` current rows.
        """
        if len(current) < self.config.min_rows:
            raise InsufficientDataError(
                f"{len(current):,} current rows; a drift check needs at least {self.config.min_rows:,}"
            )
        check_columns(self.spec, current)
        columns = [self._column(name, current[name]) for name in self.spec.feature_names]
        prediction = None
        if predictions is not None and self.profile.prediction is not None:
            prediction = self._column(PREDICTION_COLUMN, np.asarray(predictions, dtype=np.float64).ravel())
        return DriftReport(
            spec_name=self.spec.name,
            columns=columns,
            drift_share=self.config.drift_share,
            prediction=prediction,
            n_current=len(current),
            n_reference=self.profile.n_rows,
            metadata=dict(metadata or {}),
        )

    def _column(self, name: str, column: Any) -> ColumnDrift:
        reference = self.profile.prediction if name == PREDICTION_COLUMN else self.profile.features[name]
        method_name = self.config.methods.get(name)
        method = parse_method(method_name, name) if method_name else None
        threshold = self.config.thresholds.get(name)
        result: TestResult
        current_summary: NumericAtoms | CategoryCounts
        if isinstance(reference, NumericProfile):
            values, n_null = finite_values(column)
            current_summary = summarise_numeric(values, self.config.max_exact)
            result = numeric_test(
                reference.atoms,
                current_summary,
                reference_std=reference.std,
                reference_sample=reference.sample,
                method=method,
                threshold=threshold,
            )
            kind = FeatureKind.NUMERIC
        else:
            assert isinstance(reference, CategoricalProfile)
            current_summary, n_null = summarise_categorical(column)
            result = categorical_test(reference.counts, current_summary, method=method, threshold=threshold)
            kind = FeatureKind.CATEGORICAL
        total = current_summary.n + n_null
        return ColumnDrift(
            column=name,
            kind=kind,
            method=result.method,
            score=result.score,
            threshold=result.threshold,
            drifted=result.drifted or not np.isfinite(result.score),  # no score is no all-clear
            reference_null_rate=reference.null_rate,
            current_null_rate=n_null / total if total else 0.0,
            current_rows=total,
            current=current_summary,
        )


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None

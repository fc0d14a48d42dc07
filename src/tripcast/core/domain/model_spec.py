"""A description of a learning problem that generic machinery can use blind.

Registry, drift detection, serving and A/B testing read a :class:`ModelSpec`
instead of knowing about taxis: which columns are inputs and of what kind, which
column is the target, and which metric decides whether one model beats another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FeatureKind(StrEnum):
    """How a feature is treated by models and drift tests."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input."""

    name: str
    kind: FeatureKind
    description: str = ""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Inputs, target and the metric that ranks models for one learning problem."""

    name: str
    features: tuple[FeatureSpec, ...]
    target: str
    target_unit: str = ""
    metrics: tuple[str, ...] = ("rmse", "mae", "r2")
    primary_metric: str = "rmse"
    greater_is_better: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"ModelSpec {self.name!r}: duplicate feature names in {names}")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"ModelSpec {self.name!r}: primary metric {self.primary_metric!r} not in {self.metrics}")

    @property
    def feature_names(self) -> list[str]:
        """Input column names, in model order."""
        return [f.name for f in self.features]

    @property
    def categorical_features(self) -> list[str]:
        """Names of the categorical inputs, in model order."""
        return [f.name for f in self.features if f.kind is FeatureKind.CATEGORICAL]

    @property
    def numeric_features(self) -> list[str]:
        """Names of the numeric inputs, in model order."""
        return [f.name for f in self.features if f.kind is FeatureKind.NUMERIC]

    def is_better(self, candidate: float, incumbent: float) -> bool:
        """Whether ``candidate`` strictly beats ``incumbent`` on the primary metric."""
        return candidate > incumbent if self.greater_is_better else candidate < incumbent

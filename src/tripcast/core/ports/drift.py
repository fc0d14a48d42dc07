"""Ports of the drift-monitoring use cases: where features, reference profiles and reports come from and go.

The core never looks inside a profile or a report: it hands them from one port to the next
and reads the few verdict fields the protocols below declare.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.month import Month
from tripcast.core.ports.table import Table


class DriftProfile(Protocol):
    """A reference profile: the training distribution, summarised once per model version."""

    @property
    def n_rows(self) -> int: ...

    @property
    def prediction(self) -> Any:
        """The prediction distribution's summary, or None when the profile holds none."""

    def to_json(self) -> str: ...


class ColumnVerdict(Protocol):
    """One column's drift verdict as the report lists it."""

    @property
    def column(self) -> str: ...

    @property
    def drifted(self) -> bool: ...

    @property
    def inconclusive(self) -> bool: ...


class DriftVerdict(Protocol):
    """A drift report: per-column verdicts and the dataset verdict."""

    @property
    def dataset_drift(self) -> bool: ...

    @property
    def n_current(self) -> int: ...

    @property
    def drifted_columns(self) -> list[str]: ...

    @property
    def inconclusive_columns(self) -> list[str]: ...

    def to_dict(self) -> dict[str, Any]: ...


class DecayVerdict(Protocol):
    """Live error windows of a model against its validation error."""

    @property
    def decayed(self) -> bool: ...

    @property
    def n_joined(self) -> int: ...

    @property
    def latest(self) -> dict[str, Any]: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class FeatureSample:
    """Valid rows of a trip file as model features, and where the other rows went."""

    features: Table
    source: str
    n_input: int
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        return len(self.features)

    @property
    def n_quarantined(self) -> int:
        """Rows set aside (a row breaking several rules counts once here, once per reason in ``quarantined``)."""
        return self.n_input - self.n_valid


@dataclass(frozen=True, slots=True)
class DriftSettings:
    """How a drift check judges: share of drifted features for dataset drift, overrides, fewest rows."""

    drift_share: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)
    min_rows: int = 100


class FeatureSource(ABC):
    """Trip files turned into model features (validated on the way; quarantined rows are counted)."""

    spec: ModelSpec

    @abstractmethod
    def resolve(self, current: str) -> str:
        """A file location for ``current``: a file path, or a month (YYYY-MM) of the raw data folder."""

    @abstractmethod
    def load(self, location: str, month: Month | None = None) -> FeatureSample:
        """Valid rows of ``location`` as features; pickup dates checked against ``month`` (or the file name's)."""


class ReferenceProfileStore(ABC):
    """Reference profiles kept with model versions."""

    @abstractmethod
    def load(self, model_name: str, ref: str) -> DriftProfile:
        """The profile of ``model_name`` at ``ref`` (version number or alias); NotFoundError when none."""

    @abstractmethod
    def load_file(self, path: str) -> DriftProfile:
        """A profile JSON file written by ``drift profile --output``."""

    @abstractmethod
    def save(self, run_id: str, profile: DriftProfile) -> str:
        """Attach ``profile`` to a tracking run; returns its URI."""

    @abstractmethod
    def run_of(self, model_name: str, ref: str) -> tuple[str, str]:
        """``(version, run_id)`` of ``model_name`` at ``ref``; NotFoundError when none."""


class DriftDetection(ABC):
    """The statistics: profiles built from features, current features judged against a profile."""

    @abstractmethod
    def profile(self, spec: ModelSpec, features: Table, predictions: Any, metadata: dict[str, str]) -> DriftProfile:
        """Summarise training features (and the model's predictions on them)."""

    @abstractmethod
    def check(
        self,
        spec: ModelSpec,
        profile: DriftProfile,
        features: Table,
        predictions: Any,
        settings: DriftSettings,
        metadata: dict[str, str],
    ) -> DriftVerdict:
        """Drift of ``features`` (and ``predictions``, when given) against ``profile``."""


class DriftReportWriter(ABC):
    """Where drift reports go (JSON and HTML files, or anything else)."""

    @abstractmethod
    def write(self, report: DriftVerdict, profile: DriftProfile, stem: str, directory: str | None = None) -> list[str]:
        """Write the report; return the locations written."""

    @abstractmethod
    def write_text(self, text: str, path: str) -> str:
        """Write a text file (a profile JSON); return its location."""


class PredictionSource(ABC):
    """Predictions of a registered model version on a feature table, for prediction drift."""

    @abstractmethod
    def predict(self, model_name: str, ref: str, features: Table) -> Any:
        """The version's predictions on ``features``; raises when the model cannot be loaded."""


class DecayEvaluator(ABC):
    """Joins logged predictions with the actual outcomes and judges the live error (concept drift)."""

    @abstractmethod
    def read(self, location: str) -> Table:
        """A predictions or outcomes table from a file."""

    @abstractmethod
    def evaluate(
        self,
        predictions: Table,
        actuals: Table,
        *,
        validation_rmse: float,
        key: str,
        tolerance: float,
        window_rows: int,
    ) -> DecayVerdict:
        """Decay of ``predictions`` (column ``prediction``) vs ``actuals`` (column ``actual``), joined on ``key``."""

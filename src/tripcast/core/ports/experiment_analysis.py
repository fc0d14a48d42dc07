"""The statistics behind an experiment's verdict, as a port: any model, any numeric outcome."""

from __future__ import annotations

from abc import ABC, abstractmethod

from tripcast.core.domain.experiment import AnalysisResult, ExperimentDefinition, GuardrailResult
from tripcast.core.ports.table import Table

#: Columns of the observations an analyzer reads: one row per exposed unit with its outcome.
OBSERVATION_COLUMNS = ("arm", "unit_id", "outcome", "covariate", "at")


class ExperimentAnalyzer(ABC):
    """Turns exposures joined to outcomes into a verdict by the rule the definition fixed in advance."""

    @abstractmethod
    def analyze(
        self,
        definition: ExperimentDefinition,
        observations: Table,
        guardrails: tuple[GuardrailResult, ...] = (),
    ) -> AnalysisResult:
        """Analyse ``observations`` (a pyarrow Table, pandas DataFrame or parquet path with
        :data:`OBSERVATION_COLUMNS`; ``covariate`` may be null or absent, ``at`` orders the looks).

        Raises InvalidInputError when there are no outcomes or an arm the definition names has none.
        """

    @abstractmethod
    def sample_size(self, definition: ExperimentDefinition, baseline_mean: float, baseline_std: float) -> int:
        """Units per arm needed to detect the definition's minimum detectable effect (relative to
        ``baseline_mean``) at its alpha and power (two-sided Welch/normal approximation)."""

"""The compiler adapter (treelite + tl2cgen + gcc) behind the core's ``ModelCompiler`` port.

The core's registration hook (:class:`tripcast.core.services.optimization.CompileOnRegistration`) compiles
every newly registered LightGBM version through it when ``compile_on_register`` is on.

The compiled library is verified against the fitted model on a sample of the training rows and stored
with the version's MLflow run (:func:`optimize_model_version`), so servers pick it up the moment the
version becomes champion, without a separate ``tripcast optimize`` step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.ports.tracking import CompiledForm, ModelCompiler
from tripcast.mlops.serving.optimization.artifact import optimize_model_version
from tripcast.mlops.serving.optimization.compiled import DEFAULT_COMPILER_OPTIONS

__all__ = ["TreeliteModelCompiler"]


class TreeliteModelCompiler(ModelCompiler):
    """Compiles LightGBM versions to a shared library (tl2cgen + gcc), verified within 1e-4, logged to the version.

    ``default_options`` are ``-Os`` (fastest single-row calls); with one translation unit per 10 trees and
    2 jobs the default 100-tree model builds in ~20 s (400 trees: ~1 min). ``("-O1",)``
    (:data:`FAST_BUILD_COMPILER_OPTIONS`) builds ~2x faster for ~1.5x slower calls
    (performance/optimization/README.md). Up to ``check_rows`` training rows, drawn with a fixed seed, are
    compared with the native model's predictions.
    """

    def __init__(
        self,
        tracking_uri: str,
        *,
        compiler_options: tuple[str, ...] = DEFAULT_COMPILER_OPTIONS,
        parallel_units: int | None = None,
        jobs: int = 2,
        check_rows: int = 2000,
        seed: int = 0,
    ) -> None:
        if check_rows < 1:
            raise ValueError(f"check_rows must be at least 1, got {check_rows}")
        self.tracking_uri = tracking_uri
        self.default_options = compiler_options
        self.parallel_units = parallel_units
        self.jobs = jobs
        self.check_rows = check_rows
        self.seed = seed

    def supports(self, flavor: str) -> bool:
        return flavor == "lightgbm"

    def compile(
        self,
        version: ModelVersion,
        *,
        options: tuple[str, ...] | None = None,
        fitted: TrainedModel | None = None,
        check: TrainingSet | None = None,
    ) -> CompiledForm:
        return optimize_model_version(
            self.tracking_uri,
            version.name,
            version.version,
            check_features=self._sample(check.features) if check is not None else None,
            compiler_options=options or self.default_options,
            parallel_units=self.parallel_units,
            jobs=self.jobs,
            booster=fitted.native if fitted is not None else None,
        )

    def _sample(self, features: Any) -> Any:
        """Up to ``check_rows`` training rows (seeded), as a table when the features are one."""
        n = len(features)
        if n <= self.check_rows:
            return features
        picked = np.sort(np.random.default_rng(self.seed).choice(n, size=self.check_rows, replace=False))
        return features.iloc[picked] if hasattr(features, "iloc") else np.asarray(features)[picked]

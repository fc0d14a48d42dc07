"""Compile every newly registered LightGBM version to native code, on the training path.

The compiled library is verified against the fitted model on a sample of the training rows and stored
with the version's MLflow run (:func:`optimize_model_version`), so servers pick it up the moment the
version becomes champion, without a separate ``tripcast optimize`` step.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.ports.tracking import RegistrationHook
from tripcast.mlops.serving.optimization.artifact import optimize_model_version
from tripcast.mlops.serving.optimization.compiled import DEFAULT_COMPILER_OPTIONS

log = logging.getLogger(__name__)


class CompileOnRegistrationHook(RegistrationHook):
    """Compiles the registered version (tl2cgen + gcc), verifies it within 1e-4, logs it to the version.

    ``compiler_options`` default to ``-Os`` (fastest single-row calls); with one translation unit per
    10 trees and 2 jobs the default 100-tree model builds in ~20 s (400 trees: ~1 min). ``("-O1",)``
    (:data:`FAST_BUILD_COMPILER_OPTIONS`) builds ~2x faster for ~1.5x slower calls
    (performance/optimization/README.md). ``check_rows`` training rows, drawn with a fixed seed, are compared with
    the native model's predictions. Models of another flavor are skipped with a summary saying so.

    A failed build or verification never fails the training run: the version is registered already and
    servers fall back to the native model, so the summary says what went wrong and nothing is published.
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
        self.compiler_options = compiler_options
        self.parallel_units = parallel_units
        self.jobs = jobs
        self.check_rows = check_rows
        self.seed = seed

    def after_registration(self, version: ModelVersion, model: TrainedModel, train: TrainingSet) -> str:
        if model.flavor != "lightgbm":
            return f"compiled form skipped: {model.flavor} models do not compile (LightGBM only)"
        try:
            result = optimize_model_version(
                self.tracking_uri,
                version.name,
                version.version,
                check_features=self._sample(train.features),
                compiler_options=self.compiler_options,
                parallel_units=self.parallel_units,
                jobs=self.jobs,
                booster=getattr(model, "native", None),
            )
        except Exception as exc:  # an optional speed-up must not undo a registration
            log.exception("compiling %s v%s failed", version.name, version.version)
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            return f"compiled form NOT published for v{version.version} (serving stays native): {first_line}"
        return (
            f"compiled inference form ({' '.join(self.compiler_options)}) in {result.compile_seconds:.1f} s, "
            f"max |compiled - native| {result.max_abs_diff:.1e} on {result.check_rows:,} rows -> "
            f"{result.artifact_path}"
        )

    def _sample(self, features: Any) -> Any:
        """Up to ``check_rows`` training rows (seeded), as a table when the features are one."""
        n = len(features)
        if n <= self.check_rows:
            return features
        picked = np.sort(np.random.default_rng(self.seed).choice(n, size=self.check_rows, replace=False))
        return features.iloc[picked] if hasattr(features, "iloc") else np.asarray(features)[picked]

"""Serve a version's compiled form when it has one; otherwise (or on any problem) the native model."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import FeatureBuilder, Predictor
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG, PLATFORM_TAG, download_optimized
from tripcast.mlops.serving.optimization.compiled import CompiledTreeModel, platform_tag

log = logging.getLogger(__name__)


class OptimizedPredictor(Predictor):
    """The compiled model answers small requests; large batches go to the native model.

    Compiled trees win for a handful of rows (no per-call setup, no thread pool), but their code is
    megabytes of branches: over thousands of different rows instruction-cache misses make them slower
    per row than LightGBM's data-driven, multi-threaded batch path (performance/optimization/README.md).
    """

    def __init__(
        self,
        native: Predictor,
        compiled: CompiledTreeModel,
        feature_builder: FeatureBuilder,
        *,
        max_compiled_rows: int = 64,
    ) -> None:
        self.native = native
        self.max_compiled_rows = max_compiled_rows
        self.compiled = compiled
        self.feature_builder = feature_builder
        self.model_name = native.model_name
        self.model_version = native.model_version
        self.feature_names = feature_builder.spec.feature_names
        self._matrix = getattr(feature_builder, "feature_matrix", None)
        self.cpu_only = not feature_builder.performs_io

    def predict_features(self, features: Any) -> np.ndarray:
        """Predictions for a feature table (spec columns) or a matrix in spec order."""
        if hasattr(features, "columns"):
            features = features[self.feature_names].to_numpy(dtype=np.float64)
        if len(features) > self.max_compiled_rows:
            return np.asarray(self.native.predict_features(features), dtype=np.float64)
        return self.compiled.predict(features)

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        if not requests:
            return []
        if self._matrix is not None:
            matrix = self._matrix(requests)
        else:
            matrix = self.feature_builder.features_for_requests(requests)[self.feature_names].to_numpy(np.float64)
        return [float(v) for v in self.predict_features(matrix)]

    def __repr__(self) -> str:
        return f"OptimizedPredictor({self.model_name} v{self.model_version}, {self.compiled.path.name})"


class OptimizedPredictorLoader:
    """``loader(name, version)`` for the model holder: compiled form when present and usable, else native."""

    def __init__(
        self,
        registry: ModelRegistry,
        tracking_uri: str,
        feature_builder: FeatureBuilder,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.registry = registry
        self.tracking_uri = tracking_uri
        self.feature_builder = feature_builder
        self.cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="tripcast-optimized-"))

    def __call__(self, name: str, version: str) -> Predictor:
        native = self.registry.load_predictor(name, version)
        described = self.registry.get(name, version)
        artifact = described.tags.get(ARTIFACT_TAG)
        if not artifact:
            return native
        built_for = described.tags.get(PLATFORM_TAG, "")
        if built_for != platform_tag():
            log.warning("%s v%s: compiled for %s, this is %s; serving native", name, version, built_for, platform_tag())
            return native
        try:
            library = download_optimized(self.tracking_uri, described.run_id, artifact, self.cache_dir / version)
            compiled = CompiledTreeModel(library)
        except Exception as exc:  # noqa: BLE001 - the native model is always a correct answer
            log.warning("%s v%s: compiled model unusable (%s); serving native", name, version, exc)
            return native
        log.info("%s v%s: serving compiled model %s", name, version, library.name)
        return OptimizedPredictor(native, compiled, self.feature_builder)

"""Serve small requests with the fastest row-at-a-time form of a version; large batches natively.

Forms: LightGBM's single-row C API (any LightGBM version) and the tl2cgen-compiled library (when
``tripcast optimize`` or the registration hook published one for this platform). When both exist the
loader times them on the version's input example and keeps the faster; any problem with a form leaves
the others, and the native model is always the last answer.
"""

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
from tripcast.mlops.model_registry.predictor import MlflowPredictor
from tripcast.mlops.serving.optimization.artifact import (
    ARTIFACT_TAG,
    PLATFORM_TAG,
    SHA256_TAG,
    fetch_verified_library,
)
from tripcast.mlops.serving.optimization.compiled import CompiledTreeModel, platform_tag
from tripcast.mlops.serving.optimization.single_row import LightGBMSingleRow, RowModel, fastest_row_model

log = logging.getLogger(__name__)


class OptimizedPredictor(Predictor):
    """A row-at-a-time form answers small requests; large batches go to the native model.

    Row-at-a-time forms win for a handful of rows (no per-call setup, no thread pool); over thousands
    of rows LightGBM's data-driven, multi-threaded batch path is faster per row
    (performance/optimization/README.md).
    """

    def __init__(
        self,
        native: Predictor,
        row_model: RowModel,
        feature_builder: FeatureBuilder,
        *,
        max_row_at_a_time: int = 64,
        choice: str = "",
        forms: Sequence[RowModel] = (),
    ) -> None:
        self.native = native
        self.max_row_at_a_time = max_row_at_a_time
        self.row_model = row_model
        self.feature_builder = feature_builder
        self.model_name = native.model_name
        self.model_version = native.model_version
        self.feature_names = feature_builder.spec.feature_names
        self.cpu_only = not feature_builder.performs_io
        #: Why this form: the load-time timings when there was a choice.
        self.choice = choice
        #: Every usable row form by name, the one in use included (for checks and diagnostics).
        self.forms: dict[str, RowModel] = {form.form: form for form in (*forms, row_model)}

    @property
    def form(self) -> str:
        """The row-at-a-time form in use (``lightgbm-single-row`` or ``tl2cgen-compiled``)."""
        return self.row_model.form

    def predict_features(self, features: Any) -> np.ndarray:
        """Predictions for a feature table (spec columns) or a matrix in spec order."""
        if hasattr(features, "columns"):
            features = features[self.feature_names].to_numpy(dtype=np.float64)
        if len(features) > self.max_row_at_a_time:
            return np.asarray(self.native.predict_features(features), dtype=np.float64)
        return self.row_model.predict(features)

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        if not requests:
            return []
        return [float(v) for v in self.predict_features(self.feature_builder.feature_matrix(requests))]

    def __repr__(self) -> str:
        return f"OptimizedPredictor({self.model_name} v{self.model_version}, {self.form})"


class OptimizedPredictorLoader:
    """``loader(name, version)`` for the model holder: the fastest usable row form, else the native model.

    Compiled libraries are kept in ``cache_dir`` (a private temporary folder by default) under their
    content's sha256 and verified against the checksum the registry recorded before they are loaded;
    a library without a recorded checksum, or whose bytes do not match it, is not loaded at all.
    """

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
        if not isinstance(native, MlflowPredictor):
            return native  # row forms are built from a natively loaded model (booster, input example)
        candidates: list[RowModel] = []
        if native.flavor == "lightgbm":
            try:
                candidates.append(LightGBMSingleRow(native.native))
            except Exception as exc:  # noqa: BLE001 - Booster.predict still answers
                log.warning("%s v%s: LightGBM single-row API unusable (%s)", name, version, exc)
        compiled = self._compiled(name, version)
        if compiled is not None:
            candidates.append(compiled)
        if not candidates:
            return native
        example = native.input_example
        if len(candidates) == 1 or example is None or len(example) == 0:
            # Without real rows to time on, a published compiled form is what the operator asked for.
            chosen, choice = candidates[-1], "only usable form" if len(candidates) == 1 else "no rows to time on"
        else:
            race = fastest_row_model(candidates, example)
            chosen, choice = race.winner, race.describe()
        log.info("%s v%s: small requests served by %s (%s)", name, version, chosen.form, choice)
        return OptimizedPredictor(native, chosen, self.feature_builder, choice=choice, forms=candidates)

    def _compiled(self, name: str, version: str) -> CompiledTreeModel | None:
        described = self.registry.get(name, version)
        artifact = described.tags.get(ARTIFACT_TAG)
        if not artifact:
            return None
        built_for = described.tags.get(PLATFORM_TAG, "")
        if built_for != platform_tag():
            log.warning("%s v%s: compiled for %s, this is %s; not using it", name, version, built_for, platform_tag())
            return None
        checksum = described.tags.get(SHA256_TAG, "")
        if not checksum:
            log.warning(
                "%s v%s: compiled library has no recorded checksum; not loading it (run `tripcast optimize` again)",
                name,
                version,
            )
            return None
        try:
            library = fetch_verified_library(self.tracking_uri, described.run_id, artifact, checksum, self.cache_dir)
            return CompiledTreeModel(library)
        except Exception as exc:  # noqa: BLE001 - the other forms are correct answers too
            log.warning("%s v%s: compiled model not loaded (%s)", name, version, exc)
            return None

"""Compile a registered version and keep the library with its MLflow run, tagged on the version."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow.artifacts
import mlflow.lightgbm
import numpy as np
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from tripcast.core.domain.errors import TripcastError
from tripcast.mlops.model_registry.mlflow_registry import input_example_matrix
from tripcast.mlops.serving.optimization.compiled import (
    DEFAULT_COMPILER_OPTIONS,
    CompiledTreeModel,
    compile_lightgbm,
    platform_tag,
)

#: Version tags that point the server at the compiled library.
ARTIFACT_TAG = "tripcast.optimized.artifact"
PLATFORM_TAG = "tripcast.optimized.platform"
FORMAT_TAG = "tripcast.optimized.format"
FORMAT = "tl2cgen-shared-library"
#: Largest allowed difference between compiled and native predictions on the check rows.
TOLERANCE = 1e-4


@dataclass(frozen=True, slots=True)
class OptimizationResult:
    """Where the compiled model went, how long it took, and how far it is from the native one."""

    name: str
    version: str
    artifact_path: str
    compile_seconds: float
    max_abs_diff: float
    check_rows: int


def optimize_model_version(
    tracking_uri: str,
    name: str,
    version: str,
    *,
    check_features: Any = None,
    compiler_options: tuple[str, ...] = DEFAULT_COMPILER_OPTIONS,
    parallel_units: int | None = None,
    jobs: int = 2,
    booster: Any = None,
) -> OptimizationResult:
    """Compile ``name`` v``version`` (LightGBM flavor), verify it, log it to the version's run and tag it.

    The compiled model must match the native one within :data:`TOLERANCE` on ``check_features`` (a
    matrix in the model's input order) plus the input example stored with the model, else nothing is
    published and :class:`TripcastError` says by how much it differs. ``check_features`` may also be a
    feature table, whose columns are put in the model's order. ``booster`` skips loading the model back
    from the registry when the caller already holds the fitted booster (registration hooks do).
    """
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    described = client.get_model_version(name, str(version))
    if not described.run_id:
        raise TripcastError(f"{name} v{version} has no run to store the compiled model with")
    with tempfile.TemporaryDirectory(prefix="tripcast-optimize-") as scratch:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(name, str(version)),
            dst_path=str(Path(scratch) / "model"),
            tracking_uri=tracking_uri,
        )
        mlmodel = Model.load(Path(local))
        if "lightgbm" not in mlmodel.flavors:
            raise TripcastError(f"{name} v{version} has flavors {sorted(mlmodel.flavors)}; only lightgbm compiles")

        if booster is None:
            booster = mlflow.lightgbm.load_model(local)
        booster = getattr(booster, "booster_", booster)
        if check_features is not None and hasattr(check_features, "columns"):
            check_features = check_features[booster.feature_name()].to_numpy(dtype=np.float64)
        rows = _check_rows(mlmodel, local, booster.feature_name(), check_features)
        started = time.perf_counter()
        library = compile_lightgbm(
            booster,
            Path(scratch) / "out" / f"{_safe(name)}-v{version}.so",
            options=compiler_options,
            parallel_units=parallel_units,
            jobs=jobs,
        )
        seconds = time.perf_counter() - started
        compiled = CompiledTreeModel(library)
        diff = float(np.max(np.abs(compiled.predict(rows) - booster.predict(rows)))) if len(rows) else 0.0
        if not diff <= TOLERANCE:
            raise TripcastError(f"compiled {name} v{version} differs from native by {diff:.3g} (> {TOLERANCE})")
        meta = Path(scratch) / "out" / "optimized.json"
        meta.write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "platform": platform_tag(),
                    "compile_seconds": seconds,
                    "compiler_options": list(compiler_options),
                    "max_abs_diff": diff,
                    "check_rows": len(rows),
                },
                indent=2,
            )
        )
        folder = f"optimized/v{version}"
        client.log_artifact(described.run_id, str(library), artifact_path=folder)
        client.log_artifact(described.run_id, str(meta), artifact_path=folder)
    artifact = f"{folder}/{library.name}"
    client.set_model_version_tag(name, str(version), ARTIFACT_TAG, artifact)
    client.set_model_version_tag(name, str(version), PLATFORM_TAG, platform_tag())
    client.set_model_version_tag(name, str(version), FORMAT_TAG, FORMAT)
    return OptimizationResult(name, str(version), artifact, seconds, diff, len(rows))


def download_optimized(tracking_uri: str, run_id: str, artifact: str, into: Path) -> Path:
    """A local copy of a compiled library logged by :func:`optimize_model_version`."""
    into.mkdir(parents=True, exist_ok=True)
    path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=artifact, dst_path=str(into), tracking_uri=tracking_uri
    )
    return Path(path)


def _check_rows(mlmodel: Model, local: str, feature_names: list[str], extra: np.ndarray | None) -> np.ndarray:
    parts = []
    example = input_example_matrix(mlmodel, local, feature_names)  # None only means fewer check rows
    if example is not None:
        parts.append(example)
    if extra is not None:
        parts.append(np.asarray(extra, dtype=np.float64))
    return np.vstack(parts) if parts else np.empty((0, 0))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)

"""Compile a registered version and keep the library with its MLflow run, tagged on the version."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import mlflow.artifacts
import mlflow.lightgbm
import numpy as np
from mlflow.models import Model

from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.tracking import CompiledForm
from tripcast.mlops.model_registry.mlflow_registry import input_example_matrix
from tripcast.mlops.serving.optimization.compiled import (
    DEFAULT_COMPILER_OPTIONS,
    CompiledTreeModel,
    compile_lightgbm,
    platform_tag,
)
from tripcast.mlops.tracking.client import mlflow_client

log = logging.getLogger(__name__)

#: Version tags that point the server at the compiled library.
ARTIFACT_TAG = "tripcast.optimized.artifact"
PLATFORM_TAG = "tripcast.optimized.platform"
FORMAT_TAG = "tripcast.optimized.format"
#: The library's sha256 (hex) as published: a server loads no library whose bytes do not hash to it.
SHA256_TAG = "tripcast.optimized.sha256"
FORMAT = "tl2cgen-shared-library"
#: Largest allowed difference between compiled and native predictions on the check rows.
TOLERANCE = 1e-4


#: What a compilation produced (the core's port type, under the name this module has always used).
OptimizationResult = CompiledForm


class ChecksumMismatchError(TripcastError):
    """A compiled library's bytes do not hash to the checksum the registry recorded for it."""


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
    from the registry when the caller already holds the fitted booster (registration hooks do). The
    library's sha256 is recorded as the :data:`SHA256_TAG` version tag: servers load only a library
    that hashes to it.
    """
    client = mlflow_client(tracking_uri)
    described = client.get_model_version(name, str(version))
    if not described.run_id:
        raise TripcastError(f"{name} v{version} has no run to store the compiled model with")
    with tempfile.TemporaryDirectory(prefix="tripcast-optimize-") as scratch:
        local, mlmodel = _lightgbm_model(client, tracking_uri, name, str(version), Path(scratch) / "model")
        if booster is None:
            booster = mlflow.lightgbm.load_model(local)
        booster = getattr(booster, "booster_", booster)  # LGBMRegressor -> Booster
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
        diff = (
            float(np.max(np.abs(CompiledTreeModel(library).predict(rows) - booster.predict(rows))))
            if len(rows)
            else 0.0
        )
        if not diff <= TOLERANCE:
            raise TripcastError(f"compiled {name} v{version} differs from native by {diff:.3g} (> {TOLERANCE})")
        artifact = f"optimized/v{version}/{library.name}"
        checksum, options = file_sha256(library), tuple(compiler_options)
        form = CompiledForm(name, str(version), artifact, seconds, diff, len(rows), checksum, options)
        _publish(client, described.run_id, library, form)
    return form


def _lightgbm_model(client: Any, tracking_uri: str, name: str, version: str, into: Path) -> tuple[str, Model]:
    """A local copy of the version's MLflow model; TripcastError unless it has the LightGBM flavor."""
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=client.get_model_version_download_uri(name, version), dst_path=str(into), tracking_uri=tracking_uri
    )
    mlmodel = Model.load(Path(local))
    if "lightgbm" not in mlmodel.flavors:
        raise TripcastError(f"{name} v{version} has flavors {sorted(mlmodel.flavors)}; only lightgbm compiles")
    return str(local), mlmodel


def _publish(client: Any, run_id: str, library: Path, form: CompiledForm) -> None:
    """Log the library and its description to the version's run, then tag the version to point at it."""
    meta = library.parent / "optimized.json"
    description = {
        "format": FORMAT,
        "platform": platform_tag(),
        "compile_seconds": form.compile_seconds,
        "compiler_options": list(form.compiler_options),
        "max_abs_diff": form.max_abs_diff,
        "check_rows": form.check_rows,
        "sha256": form.sha256,
    }
    meta.write_text(json.dumps(description, indent=2))
    folder = form.artifact_path.rsplit("/", 1)[0]
    client.log_artifact(run_id, str(library), artifact_path=folder)
    client.log_artifact(run_id, str(meta), artifact_path=folder)
    client.set_model_version_tag(form.name, form.version, ARTIFACT_TAG, form.artifact_path)
    client.set_model_version_tag(form.name, form.version, PLATFORM_TAG, platform_tag())
    client.set_model_version_tag(form.name, form.version, FORMAT_TAG, FORMAT)
    # Last: a version carries a checksum only once everything it describes is in place.
    client.set_model_version_tag(form.name, form.version, SHA256_TAG, form.sha256)


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fetch_verified_library(tracking_uri: str, run_id: str, artifact: str, sha256: str, cache_dir: Path) -> Path:
    """A local, immutable copy of a compiled library whose bytes hash to ``sha256``.

    The copy lives at ``cache_dir/<sha256>.so``, a path named by its content: once a process has
    dlopen-ed it, nothing ever writes to it again (rewriting a mapped library crashes the process that
    runs it), and loading the same content again (a forced reload, a rollback) finds the same file and
    the same handle. A download goes to a temporary name in ``cache_dir``, is checked, made read-only and
    renamed into place, so the final path only ever holds verified bytes. A cached copy is checked again
    before every use; :class:`ChecksumMismatchError` when the download (or the cached copy) differs.
    """
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ChecksumMismatchError(f"recorded checksum {sha256[:80]!r} is not a sha256 hex digest")
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = cache_dir / f"{expected}.so"
    if final.exists():
        if file_sha256(final) == expected:
            return final
        log.warning("cached compiled library %s does not match its checksum; fetching it again", final)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache_dir) as scratch:
        downloaded = Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=scratch, tracking_uri=tracking_uri
            )
        )
        actual = file_sha256(downloaded)
        if actual != expected:
            raise ChecksumMismatchError(
                f"{artifact}: checksum mismatch (sha256 {actual[:12]}..., registry recorded {expected[:12]}...)"
            )
        downloaded.chmod(0o555)
        # A rename never touches the bytes behind a path another load mapped: that inode lives on.
        os.replace(downloaded, final)
    return final


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

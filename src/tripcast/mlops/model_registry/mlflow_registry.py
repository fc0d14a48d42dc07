"""The model registry on MLflow, addressed by version number or alias (``champion``, ``challenger``).

Aliases replace MLflow's deprecated stages. Every lookup that fails says what does
exist, so ``tripcast promote --ref champoin`` answers with the aliases that are set.
Works on any MLflow tracking/registry backend (SQLite file, PostgreSQL, a server).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow.artifacts
import numpy as np
from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, ErrorCode

from tripcast.core.domain.errors import NotFoundError, TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.model_registry.predictor import MlflowPredictor
from tripcast.mlops.tracking.client import mlflow_client, pinned_mlflow_uris

log = logging.getLogger(__name__)

#: A logged-model URI as returned by ``log_model`` in MLflow 3: ``models:/m-<hex>``.
_LOGGED_MODEL_URI: Final = re.compile(r"^models:/(m-[0-9a-f]+)$")
_RUNS_URI: Final = re.compile(r"^runs:/([^/]+)/")


def _is_missing(exc: MlflowException) -> bool:
    return exc.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def _load_native(path: str, flavors: dict[str, Any]) -> tuple[str, Any]:
    """The model's own object (booster, pipeline) for the first flavor we know how to load."""
    if "lightgbm" in flavors:
        import mlflow.lightgbm

        return "lightgbm", mlflow.lightgbm.load_model(path)
    if "sklearn" in flavors:
        import mlflow.sklearn

        return "sklearn", mlflow.sklearn.load_model(path)
    raise TripcastError(f"model at {path} has flavors {sorted(flavors)}; only lightgbm and sklearn can be loaded")


def input_example_matrix(mlmodel: Model, local: str, feature_names: list[str]) -> np.ndarray | None:
    """The stored input example as a float matrix in ``feature_names`` order, or None when absent or unreadable."""
    try:
        example: Any = mlmodel.load_input_example(local)
        if example is None or not hasattr(example, "columns"):
            return None
        return np.ascontiguousarray(example[feature_names].to_numpy(dtype=np.float64))
    except Exception:
        log.warning("input example of %s unreadable", local, exc_info=True)
        return None


def _local_copy(artifact_uri: str, scratch: str, tracking_uri: str) -> str:
    """A local directory holding the artifacts: the store itself when it is on this disk, else a download."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme in ("", "file"):
        local = Path(url2pathname(parsed.path)) if parsed.scheme else Path(artifact_uri)
        if local.is_dir():
            return str(local)
    return str(
        mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=scratch, tracking_uri=tracking_uri)
    )


class MlflowModelRegistry(ModelRegistry):
    """Registered models on an MLflow backend; predictors use the injected feature builder."""

    def __init__(self, tracking_uri: str, feature_builder: FeatureBuilder) -> None:
        self.tracking_uri = tracking_uri
        self.feature_builder = feature_builder
        self.spec = feature_builder.spec
        self._client = mlflow_client(tracking_uri)

    # ------------------------------------------------------------------ writing
    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        """Register a logged model (``models:/m-...`` or ``runs:/<id>/model``) as a new version of ``name``."""
        try:
            self._client.create_registered_model(name, tags={"spec": self.spec.name})
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
        model_id = None
        run_id = None
        if match := _LOGGED_MODEL_URI.match(model_uri):
            model_id = match.group(1)
            run_id = self._client.get_logged_model(model_id).source_run_id
        elif match := _RUNS_URI.match(model_uri):
            run_id = match.group(1)
        # MLflow resolves a logged model's source through the global URI, not the client's.
        with pinned_mlflow_uris(self.tracking_uri):
            created = self._client.create_model_version(
                name,
                source=model_uri,
                run_id=run_id,
                tags={str(k): str(v) for k, v in (tags or {}).items()},
                model_id=model_id,
            )
        return self._describe(self._client.get_model_version(name, created.version), self._aliases(name))

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        """Write ``tags`` onto ``version`` (the decision), then point ``alias`` at it.

        The alias goes last: it is what servers follow, so a failure part-way never moves it
        without the version carrying its reasons.
        """
        target = self.get(name, version)
        self.tag_version(name, target.version, tags or {})
        self._client.set_registered_model_alias(name, alias, target.version)

    def tag_version(self, name: str, version: str, tags: dict[str, str]) -> None:
        """Record ``tags`` on ``version`` (no alias moves)."""
        for key, value in tags.items():
            self._client.set_model_version_tag(name, version, key, str(value))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from ``name`` (no error when it is not set)."""
        if alias in self._aliases(name):
            self._client.delete_registered_model_alias(name, alias)

    # ------------------------------------------------------------------ reading
    def get(self, name: str, ref: str) -> ModelVersion:
        """A version by number ("3" or "v3") or alias; NotFoundError naming the versions and aliases that exist."""
        aliases = self._aliases(name)  # also checks the model exists
        ref = str(ref).strip()
        if ref[:1] in ("v", "V") and ref[1:].isdigit() and ref not in aliases:
            ref = ref[1:]  # "v3", as versions are displayed, means version 3
        if not ref.isdigit() and ref not in aliases:
            raise NotFoundError(f"alias {ref!r} not set on {name}; {self._inventory(name, aliases)}")
        number = ref if ref.isdigit() else aliases[ref]
        try:
            found = self._client.get_model_version(name, number)
        except MlflowException as exc:
            if not _is_missing(exc):
                raise
            raise NotFoundError(f"version {ref} does not exist on {name}; {self._inventory(name, aliases)}") from None
        return self._describe(found, aliases)

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version holding ``alias``, or None when the alias (or the model) does not exist."""
        try:
            return self.get(name, alias)
        except NotFoundError:
            return None

    def alias_version(self, name: str, alias: str) -> str | None:
        """The version number at ``alias`` from one registry query (``find_alias`` also reads the version
        and its run): servers poll this every few seconds, from a thread that shares the GIL with them."""
        try:
            return self._aliases(name).get(alias)
        except NotFoundError:
            return None

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, newest first, with aliases, tags and their run's metrics."""
        aliases = self._aliases(name)
        escaped = name.replace("'", "\\'")
        found = self._client.search_model_versions(f"name = '{escaped}'")
        ordered = sorted(found, key=lambda mv: int(mv.version), reverse=True)
        return [self._describe(mv, aliases) for mv in ordered]

    def iter_names(self) -> Iterator[str]:
        """Names of every registered model."""
        for model in self._client.search_registered_models():
            yield model.name

    def load_predictor(self, name: str, ref: str) -> MlflowPredictor:
        """Download a version's artifacts and load its native model (booster or pipeline)."""
        version = self.get(name, ref)
        download_uri = self._client.get_model_version_download_uri(name, version.version)
        with tempfile.TemporaryDirectory(prefix="tripcast-model-") as scratch:
            local = _local_copy(download_uri, scratch, self.tracking_uri)
            mlmodel = Model.load(Path(local))
            self._check_signature(name, version.version, mlmodel)
            flavor, native = _load_native(local, mlmodel.flavors)
            example = input_example_matrix(mlmodel, local, self.spec.feature_names)
        return MlflowPredictor(
            native,
            flavor=flavor,
            spec=self.spec,
            feature_builder=self.feature_builder,
            model_name=name,
            model_version=version.version,
            metrics=version.metrics,
            loaded_at=datetime.now(UTC),
            input_example=example,
        )

    # ------------------------------------------------------------------ helpers
    def _aliases(self, name: str) -> dict[str, str]:
        """Alias -> version for ``name``; NotFoundError telling the user how to create the model."""
        try:
            model = self._client.get_registered_model(name)
        except MlflowException as exc:
            if not _is_missing(exc):
                raise
            raise NotFoundError(f"no model named {name!r} yet: run `tripcast train`") from None
        return {str(alias): str(version) for alias, version in (model.aliases or {}).items()}

    def _inventory(self, name: str, aliases: dict[str, str]) -> str:
        escaped = name.replace("'", "\\'")
        versions = sorted(int(mv.version) for mv in self._client.search_model_versions(f"name = '{escaped}'"))
        alias_text = ", ".join(f"{a}->{v}" for a, v in sorted(aliases.items())) or "none"
        return f"versions: {', '.join(map(str, versions)) or 'none'}; aliases: {alias_text}"

    def _describe(self, mv: MlflowModelVersion, aliases: dict[str, str]) -> ModelVersion:
        version = str(mv.version)
        metrics: dict[str, float] = {}
        if mv.run_id:
            try:
                metrics = {k: float(v) for k, v in self._client.get_run(mv.run_id).data.metrics.items()}
            except MlflowException as exc:
                if not _is_missing(exc):
                    raise
        created = (
            datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC) if mv.creation_timestamp is not None else None
        )
        return ModelVersion(
            name=mv.name,
            version=version,
            aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
            metrics=metrics,
            tags=dict(mv.tags or {}),
            source=str(mv.source or ""),
            created_at=created,
            run_id=str(mv.run_id or ""),
        )

    def _check_signature(self, name: str, version: str, mlmodel: Model) -> None:
        """Refuse a model whose inputs are not this registry's spec features (another problem's model)."""
        if mlmodel.signature is None or mlmodel.signature.inputs is None:
            return
        inputs = mlmodel.signature.inputs.input_names()
        if list(inputs) != self.spec.feature_names:
            raise TripcastError(
                f"{name} v{version} takes inputs {list(inputs)}, not the features of spec {self.spec.name!r} "
                f"({self.spec.feature_names})"
            )

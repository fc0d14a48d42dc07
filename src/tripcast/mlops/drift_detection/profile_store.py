"""Reference profiles stored with the model version in MLflow, cached on local disk.

The profile is a JSON artifact on the run that produced the version
(``reference_profile.json``), so every version carries the reference its drift is judged
against, and loading it needs no scan of the training data. The run also carries the
profile's sha256 as a tag, so a local cache can key a profile by model version and content.

Loading through MLflow cost 3.1 s of a drift check (1.5 s of it importing mlflow). So
:class:`MlflowProfileStore` resolves ``model@alias`` -> version -> run -> sha256 with plain SQL
when the tracking store is SQLite (one indexed lookup per step, no mlflow import), and reads
the profile from the local cache when a copy with that sha256 is there. Anything else (another
tracking backend, a cache miss, a run logged before the sha256 tag existed) goes through the
MLflow client from :func:`tripcast.mlops.tracking.client.mlflow_client`, the one owner.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tripcast.core.domain.errors import NotFoundError
from tripcast.mlops.drift_detection.profile import ReferenceProfile

PROFILE_ARTIFACT = "reference_profile.json"
#: Run tag holding the sha256 of the logged profile JSON: the content half of the cache key.
PROFILE_SHA_TAG = "reference_profile_sha256"


@dataclass(frozen=True, slots=True)
class ProfileLocation:
    """Where a model version's reference profile lives."""

    model_name: str
    version: str
    run_id: str
    sha256: str | None

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version}"


def log_reference_profile(tracking_uri: str, run_id: str, profile: ReferenceProfile) -> str:
    """Attach ``profile`` to the MLflow run ``run_id`` with its sha256 tag; returns the artifact URI."""
    from tripcast.mlops.tracking.client import mlflow_client

    text = profile.to_json()
    client = mlflow_client(tracking_uri)
    client.log_text(run_id, text, PROFILE_ARTIFACT)
    client.set_tag(run_id, "reference_profile", PROFILE_ARTIFACT)
    client.set_tag(run_id, PROFILE_SHA_TAG, _sha256(text))
    return f"runs:/{run_id}/{PROFILE_ARTIFACT}"


def load_reference_profile(tracking_uri: str, model_name: str, ref: str) -> ReferenceProfile:
    """The profile of model ``model_name`` at ``ref`` (a version number or an alias such as ``champion``)."""
    return MlflowProfileStore(tracking_uri).load(model_name, ref)


def load_run_profile(tracking_uri: str, run_id: str, *, label: str = "") -> ReferenceProfile:
    """The profile logged on run ``run_id``."""
    return ReferenceProfile.from_json(_download(tracking_uri, run_id, label or f"run {run_id}"))


class MlflowProfileStore:
    """Reference profiles of registered model versions: MLflow artifacts behind a local sha256-keyed cache."""

    def __init__(self, tracking_uri: str, cache_dir: Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.cache_dir = cache_dir

    def locate(self, model_name: str, ref: str) -> ProfileLocation:
        """Resolve ``ref`` (version number or alias) to the version's run and profile sha256."""
        location = _locate_sqlite(self.tracking_uri, model_name, ref)
        return location if location is not None else _locate_mlflow(self.tracking_uri, model_name, ref)

    def load(self, model_name: str, ref: str) -> ReferenceProfile:
        """The profile of ``model_name`` at ``ref``; from the cache when its sha256 matches the run's tag."""
        location = self.locate(model_name, ref)
        cached = self._cache_path(location)
        if cached is not None and cached.is_file():
            text = cached.read_text()
            if _sha256(text) == location.sha256:
                return ReferenceProfile.from_json(text)
        text = _download(self.tracking_uri, location.run_id, location.label)
        if cached is not None and _sha256(text) == location.sha256:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".part")
            partial.write_text(text)
            partial.replace(cached)  # atomic: a concurrent reader never sees half a profile
        return ReferenceProfile.from_json(text)

    def save(self, run_id: str, profile: ReferenceProfile) -> str:
        """Attach ``profile`` to run ``run_id``; returns the artifact URI."""
        return log_reference_profile(self.tracking_uri, run_id, profile)

    def run_of(self, model_name: str, ref: str) -> tuple[str, str]:
        """``(version, run_id)`` of ``model_name`` at ``ref``."""
        location = self.locate(model_name, ref)
        return location.version, location.run_id

    def _cache_path(self, location: ProfileLocation) -> Path | None:
        if self.cache_dir is None or not location.sha256:
            return None
        return self.cache_dir / location.model_name / f"v{location.version}-{location.sha256}.json"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sqlite_file(tracking_uri: str) -> Path | None:
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    path = Path(tracking_uri.removeprefix(prefix))
    return path if path.is_file() else None


def _locate_sqlite(tracking_uri: str, model_name: str, ref: str) -> ProfileLocation | None:
    """The location read straight from MLflow's SQLite tables, or None to fall back to the client.

    Reads only; any surprise (a schema MLflow changed, several workspaces) returns None.
    """
    path = _sqlite_file(tracking_uri)
    if path is None:
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            version = ref
            if not ref.isdigit():
                rows = db.execute(
                    "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (model_name, ref)
                ).fetchall()
                if len(rows) != 1:
                    return None
                version = str(rows[0][0])
            runs = db.execute(
                "SELECT run_id FROM model_versions WHERE name = ? AND version = ?", (model_name, int(version))
            ).fetchall()
            if len(runs) != 1 or not runs[0][0]:
                return None
            run_id = str(runs[0][0])
            tags = db.execute(
                "SELECT value FROM tags WHERE run_uuid = ? AND key = ?", (run_id, PROFILE_SHA_TAG)
            ).fetchall()
    except sqlite3.Error:
        return None
    return ProfileLocation(model_name, version, run_id, str(tags[0][0]) if tags else None)


def _locate_mlflow(tracking_uri: str, model_name: str, ref: str) -> ProfileLocation:
    from mlflow.exceptions import MlflowException

    from tripcast.mlops.tracking.client import mlflow_client

    client = mlflow_client(tracking_uri)
    try:
        version = (
            client.get_model_version(model_name, ref)
            if ref.isdigit()
            else client.get_model_version_by_alias(model_name, ref)
        )
    except MlflowException as exc:
        raise NotFoundError(f"model {model_name!r} has no version or alias {ref!r}: {exc.message}") from None
    if not version.run_id:
        raise NotFoundError(f"model {model_name!r} version {version.version} has no run to hold a reference profile")
    try:
        sha = client.get_run(version.run_id).data.tags.get(PROFILE_SHA_TAG)
    except MlflowException:
        sha = None
    return ProfileLocation(model_name, str(version.version), version.run_id, sha)


def _download(tracking_uri: str, run_id: str, label: str) -> str:
    from mlflow.exceptions import MlflowException

    from tripcast.mlops.tracking.client import mlflow_client

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow_client(tracking_uri).download_artifacts(run_id, PROFILE_ARTIFACT, tmp)
        except (MlflowException, OSError):
            raise NotFoundError(
                f"{label} has no {PROFILE_ARTIFACT}; log one after training with "
                "log_reference_profile(tracking_uri, run_id, ReferenceProfile.build(spec, features, predictions))"
            ) from None
        return Path(path).read_text()

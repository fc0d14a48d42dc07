"""Reference profiles stored with the model version in MLflow.

The profile is a JSON artifact on the run that produced the version
(``reference_profile.json``), so every version carries the reference its drift is judged
against, and loading it needs no scan of the training data.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tripcast.core.domain.errors import NotFoundError
from tripcast.mlops.drift_detection.profile import ReferenceProfile

PROFILE_ARTIFACT = "reference_profile.json"


def log_reference_profile(tracking_uri: str, run_id: str, profile: ReferenceProfile) -> str:
    """Attach ``profile`` to the MLflow run ``run_id``; returns the artifact URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    client.log_text(run_id, profile.to_json(), PROFILE_ARTIFACT)
    client.set_tag(run_id, "reference_profile", PROFILE_ARTIFACT)
    return f"runs:/{run_id}/{PROFILE_ARTIFACT}"


def load_reference_profile(tracking_uri: str, model_name: str, ref: str) -> ReferenceProfile:
    """The profile of model ``model_name`` at ``ref`` (a version number or an alias such as ``champion``)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
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
    return load_run_profile(tracking_uri, version.run_id, label=f"{model_name} v{version.version}")


def load_run_profile(tracking_uri: str, run_id: str, *, label: str = "") -> ReferenceProfile:
    """The profile logged on run ``run_id``."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, PROFILE_ARTIFACT, tmp)
        except (MlflowException, OSError):
            raise NotFoundError(
                f"{label or 'run ' + run_id} has no {PROFILE_ARTIFACT}; log one after training with "
                "log_reference_profile(tracking_uri, run_id, ReferenceProfile.build(spec, features, predictions))"
            ) from None
        return ReferenceProfile.from_dict(json.loads(Path(path).read_text()))

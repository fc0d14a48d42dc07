"""Model cards kept as artifacts of the version's MLflow run, pointed to by a version tag."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

from mlflow.exceptions import MlflowException

from tripcast.core.domain.errors import NotFoundError, TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.model_card import CardStore
from tripcast.mlops.tracking.client import mlflow_client

#: Version tag holding the run-relative folder of the version's card.
CARD_TAG: Final = "tripcast.model_card"


def card_folder(version: ModelVersion) -> str:
    """Run-relative folder of a version's card (one run may in principle back several versions)."""
    return f"model_card/v{version.version}"


class MlflowCardStore(CardStore):
    """Stores card files on the version's run (``model_card/v<N>/``) and tags the version with the folder."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._client = mlflow_client(tracking_uri)

    def store(self, version: ModelVersion, files: dict[str, str]) -> dict[str, str]:
        if not version.run_id:
            raise TripcastError(f"{version.name} v{version.version} has no run to store its card with")
        folder = card_folder(version)
        uris = {}
        for file_name, text in files.items():
            self._client.log_text(version.run_id, text, f"{folder}/{file_name}")
            uris[file_name] = f"runs:/{version.run_id}/{folder}/{file_name}"
        self._client.set_model_version_tag(version.name, version.version, CARD_TAG, folder)
        return uris

    def read(self, version: ModelVersion, file_name: str) -> str:
        if not version.run_id:
            raise NotFoundError(f"{version.name} v{version.version} has no run, so no card")
        with tempfile.TemporaryDirectory(prefix="tripcast-card-") as scratch:
            try:
                path = self._client.download_artifacts(version.run_id, f"{card_folder(version)}/{file_name}", scratch)
            except (MlflowException, OSError):
                raise NotFoundError(
                    f"{version.name} v{version.version} has no {file_name}: "
                    f"run `tripcast models card {version.version}`"
                ) from None
            return Path(path).read_text(encoding="utf-8")

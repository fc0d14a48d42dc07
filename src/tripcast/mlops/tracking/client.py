"""The one owner of MLflow clients: every adapter that talks to the tracking server gets its client here."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@lru_cache(maxsize=8)
def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client for ``tracking_uri`` (also its registry), shared by every caller in this process."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

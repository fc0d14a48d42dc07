"""The one owner of MLflow clients and of MLflow's global URIs: every adapter that talks to the tracking
server gets its client here, and points MLflow's fluent API (``log_input``, ``log_model``) at a store only
through :func:`pinned_mlflow_uris`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@lru_cache(maxsize=8)
def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client for ``tracking_uri`` (also its registry), shared by every caller in this process."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


_ENV_KEYS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def preserved_mlflow_uris() -> Iterator[None]:
    """Restore MLflow's global URIs (and their environment mirrors) to what they were before the block."""
    from mlflow.tracking._model_registry import utils as mlflow_registry_utils
    from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

    saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
    saved_tracking = mlflow_tracking_utils._tracking_uri
    saved_registry = mlflow_registry_utils._registry_uri
    try:
        yield
    finally:
        mlflow_tracking_utils._tracking_uri = saved_tracking
        mlflow_registry_utils._registry_uri = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def pinned_mlflow_uris(uri: str) -> Iterator[None]:
    """Point MLflow's global tracking and registry URIs at ``uri`` for the block, then restore them.

    ``log_input`` and ``log_model`` only exist as fluent calls that read the global URIs (and
    MLflow mirrors them into environment variables); leaving them set would send another
    tracker's later calls in the same process to this store.
    """
    import mlflow

    with preserved_mlflow_uris():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield

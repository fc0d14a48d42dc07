"""MLflow's global tracking and registry URIs, pinned for one block and then restored."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow.tracking._model_registry import utils as mlflow_registry_utils
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

_ENV_KEYS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def preserved_mlflow_uris() -> Iterator[None]:
    """Restore MLflow's global URIs (and their environment mirrors) to what they were before the block."""
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
    with preserved_mlflow_uris():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield

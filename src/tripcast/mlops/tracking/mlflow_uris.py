"""MLflow's global tracking and registry URIs, pinned for one block and then restored (owned by
:mod:`tripcast.mlops.tracking.client`; re-exported here for existing imports)."""

from tripcast.mlops.tracking.client import pinned_mlflow_uris, preserved_mlflow_uris

__all__ = ["pinned_mlflow_uris", "preserved_mlflow_uris"]

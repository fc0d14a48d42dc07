"""Drift detection generic over a :class:`~tripcast.core.domain.model_spec.ModelSpec`.

Build a :class:`ReferenceProfile` once from training features, store it with the model
version (:func:`log_reference_profile`), and check current data against it with a
:class:`DriftDetector` (batch) or an :class:`OnlineDriftMonitor` (sliding window, Prometheus).
"""

from tripcast.mlops.drift_detection.detector import (
    ColumnDrift,
    DriftConfig,
    DriftDetector,
    DriftReport,
    InsufficientDataError,
)
from tripcast.mlops.drift_detection.profile import PREDICTION_COLUMN, ReferenceProfile
from tripcast.mlops.drift_detection.stattests import DriftMethod

__all__ = [
    "PREDICTION_COLUMN",
    "ColumnDrift",
    "DriftConfig",
    "DriftDetector",
    "DriftMethod",
    "DriftReport",
    "InsufficientDataError",
    "ReferenceProfile",
]

"""Real-time serving adapters: the hot-swappable model holder and the serving metrics.

The prediction use case itself is the core's :class:`tripcast.core.services.prediction.Prediction`.
"""

from tripcast.mlops.serving.real_time.metrics import ServingMetrics
from tripcast.mlops.serving.real_time.model_holder import LoadedModel, ModelHolder, ModelNotLoadedError

__all__ = ["LoadedModel", "ModelHolder", "ModelNotLoadedError", "ServingMetrics"]

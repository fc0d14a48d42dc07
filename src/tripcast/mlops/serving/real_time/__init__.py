"""Real-time serving: the hot-swappable model holder, the prediction service and their metrics."""

from tripcast.mlops.serving.real_time.metrics import ServingMetrics
from tripcast.mlops.serving.real_time.model_holder import LoadedModel, ModelHolder, ModelNotLoadedError
from tripcast.mlops.serving.real_time.service import PredictionService, ServedPredictions

__all__ = [
    "LoadedModel",
    "ModelHolder",
    "ModelNotLoadedError",
    "PredictionService",
    "ServedPredictions",
    "ServingMetrics",
]

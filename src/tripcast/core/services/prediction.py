"""Answer trip requests with a loaded model."""

from __future__ import annotations

from collections.abc import Sequence

from tripcast.core.domain.prediction import Prediction
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor


def predict_trips(predictor: Predictor, requests: Sequence[TripRequest]) -> list[Prediction]:
    """Predicted duration for each request, tagged with the model version."""
    minutes = predictor.predict_trips(requests)
    return [Prediction(float(m), predictor.model_name, predictor.model_version) for m in minutes]

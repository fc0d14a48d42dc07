"""What a prediction returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prediction:
    """Predicted trip duration and the model version that produced it."""

    minutes: float
    model_name: str
    model_version: str

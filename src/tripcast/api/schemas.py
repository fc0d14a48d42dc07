"""Request and response bodies of the HTTP API, with the examples shown at ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tripcast.bootstrap.serving import TRIP_EXAMPLE, TripBatchIn, TripIn, prediction_payload
from tripcast.core.domain.evaluation import ModelVersion

__all__ = [
    "PAYLOAD_EXAMPLES",
    "BatchPredictionOut",
    "ErrorOut",
    "ModelOut",
    "PredictionOut",
    "ProblemOut",
    "ReloadOut",
    "TripBatchIn",
    "TripIn",
    "prediction_payload",
]

PAYLOAD_EXAMPLES: dict[str, Any] = {
    "single": {"summary": "One trip", "value": TRIP_EXAMPLE},
    "batch": {
        "summary": "A batch of trips",
        "value": {
            "trips": [
                TRIP_EXAMPLE,
                {
                    "pickup_datetime": "2021-02-14T23:05:00",
                    "pickup_zone": 42,
                    "dropoff_zone": 132,
                    "trip_distance": 17.2,
                },
            ]
        },
    },
    "invalid": {
        "summary": "An invalid trip (422 naming the fields)",
        "value": {
            "pickup_datetime": "2021-02-14T08:30:00",
            "pickup_zone": 999,
            "dropoff_zone": 75,
            "trip_distance": -1,
        },
    },
}


class PredictionOut(BaseModel):
    """Predicted duration of one trip and the model version that produced it."""

    minutes: float = Field(description="Predicted trip duration, minutes")
    model_name: str
    model_version: str = Field(description="The version that answered (an experiment's arm's, when one runs)")
    experiment: str | None = Field(default=None, description="The running experiment that routed the request")
    arm: str | None = Field(default=None, description="The experiment arm that answered")

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={"examples": [{"minutes": 7.92, "model_name": "trip-duration", "model_version": "3"}]},
    )


class BatchPredictionOut(BaseModel):
    """Predicted durations in request order; one model version answered the whole batch."""

    predictions: list[float] = Field(description="Predicted minutes, in the order of the request's trips")
    model_name: str
    model_version: str
    count: int
    experiment: str | None = Field(default=None, description="The running experiment that routed the batch")
    arm: str | None = Field(default=None, description="The experiment arm that answered the whole batch")

    model_config = ConfigDict(protected_namespaces=())


class ModelOut(BaseModel):
    """The model version being served."""

    model_name: str
    model_version: str
    aliases: list[str]
    metrics: dict[str, float]
    run_id: str | None = Field(None, description="Training run; shown to operator, approver and admin keys only")
    source: str | None = Field(None, description="Artifact storage URI; operator, approver and admin keys only")
    loaded_at: datetime
    predictor: str = Field(description="Implementation answering requests (native or an optimised form)")
    inference_form: str | None = Field(
        None, description="Row-at-a-time form answering small requests, chosen at load by timing the candidates"
    )

    model_config = ConfigDict(protected_namespaces=())

    @classmethod
    def of(
        cls,
        version: ModelVersion,
        loaded_at: datetime,
        predictor: str,
        inference_form: str | None = None,
        internals: bool = False,
    ) -> ModelOut:
        """The description of ``version``; with ``internals`` its run id and storage URI too."""
        shown: dict[str, Any] = {"run_id": version.run_id, "source": version.source} if internals else {}
        return cls(
            model_name=version.name,
            model_version=version.version,
            aliases=list(version.aliases),
            metrics=dict(version.metrics),
            loaded_at=loaded_at,
            predictor=predictor,
            inference_form=inference_form,
            **shown,
        )


class ReloadOut(BaseModel):
    """What a reload did."""

    changed: bool
    model_version: str | None
    error: str | None = None

    model_config = ConfigDict(protected_namespaces=())


class ProblemOut(BaseModel):
    """One broken rule: which field, and what is wrong."""

    field: str
    problem: str


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: a summary and, for invalid input, each field's problem."""

    detail: str
    errors: list[ProblemOut] = Field(default_factory=list)

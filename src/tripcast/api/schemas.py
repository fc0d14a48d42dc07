"""Request and response bodies of the HTTP API, with the examples shown at ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Strict, Tag, create_model, field_validator

from tripcast.core.domain.evaluation import ModelVersion

TRIP_EXAMPLE: dict[str, Any] = {
    "pickup_datetime": "2021-02-14T08:30:00",
    "pickup_zone": 74,
    "dropoff_zone": 75,
    "trip_distance": 1.6,
    "vendor_id": 2,
    "passenger_count": 1,
}


#: A JSON integer and nothing else: ``true``, ``"74"`` and ``74.0`` are refused, not coerced.
StrictInt = Annotated[int, Strict()]
#: A JSON number (``1``, ``1.0``); ``"1.2"`` and ``true`` are refused.
StrictFloat = Annotated[float, Strict()]


class TripIn(BaseModel):
    """One trip as known at pickup time; types are strict, range rules are the core's ``trip_problems``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TRIP_EXAMPLE]})

    pickup_datetime: datetime = Field(description="Pickup time, ISO 8601 (local NYC time), 2009 to tomorrow")
    pickup_zone: StrictInt = Field(description="TLC pickup zone id, 1-265")
    dropoff_zone: StrictInt = Field(description="TLC dropoff zone id, 1-265")
    trip_distance: StrictFloat = Field(description="Trip distance in miles, 0-100")
    vendor_id: StrictInt | None = Field(default=None, description="TLC vendor id, positive")
    passenger_count: StrictInt | None = Field(default=None, description="Passengers, 0-9")

    @field_validator("pickup_datetime", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        # Lax datetimes also take numbers as Unix timestamps (in UTC, not NYC time): refuse them.
        if isinstance(value, bool | int | float):
            raise ValueError("must be an ISO 8601 date-time string, not a number")
        return value


class TripBatchIn(BaseModel):
    """Several trips at once; at most the server's ``max_batch_size``."""

    model_config = ConfigDict(extra="forbid")

    trips: list[TripIn] = Field(min_length=1, description="Trips to predict, answered in the same order")


def _payload_kind(value: Any) -> str:
    # Route on the presence of "trips" so validation errors name the fields of the shape the client meant.
    if isinstance(value, dict) and "trips" in value:
        return "batch"
    if isinstance(value, TripBatchIn):
        return "batch"
    return "trip"


def prediction_payload(max_batch_size: int) -> Any:
    """The body type of ``POST /v1/predictions`` on a server answering at most ``max_batch_size`` trips.

    The batch's length is a schema rule, so a longer batch is refused by its length before any of its trips
    is validated (the API answers 413, see ``api.errors``); the JSON text itself is bounded by the body limit.
    """
    bounded = create_model(
        "TripBatchIn",
        __base__=TripBatchIn,
        __doc__=TripBatchIn.__doc__,
        trips=(
            list[TripIn],
            Field(min_length=1, max_length=max_batch_size, description="Trips to predict, answered in the same order"),
        ),
    )
    return Annotated[
        Annotated[TripIn, Tag("trip")] | Annotated[bounded, Tag("batch")],
        Discriminator(_payload_kind),
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
    model_version: str

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

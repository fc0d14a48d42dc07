"""The trip request contract: one pydantic model for the HTTP API, ``tripcast predict`` and the stream consumer.

Types are strict (``true``, ``"74"`` and ``74.0`` are not zone ids); range rules are the core's
``trip_problems``, applied when a :class:`TripIn` becomes a domain :class:`TripRequest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    create_model,
    field_validator,
)

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.trip import TripRequest, trip_problems

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
    client_id: Annotated[str, Strict()] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who asks (rider or client id): an experiment keeps the same client on the same arm",
    )

    @field_validator("pickup_datetime", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        # Lax datetimes also take numbers as Unix timestamps (in UTC, not NYC time): refuse them.
        if isinstance(value, bool | int | float):
            raise ValueError("must be an ISO 8601 date-time string, not a number")
        return value

    def problems(self) -> list[FieldProblem]:
        """The core's range rules this trip breaks; empty when valid."""
        return trip_problems(
            pickup_datetime=self.pickup_datetime,
            pickup_zone=self.pickup_zone,
            dropoff_zone=self.dropoff_zone,
            trip_distance=self.trip_distance,
            vendor_id=self.vendor_id,
            passenger_count=self.passenger_count,
        )

    def to_request(self) -> TripRequest:
        """The domain request (call after :meth:`problems` came back empty)."""
        return TripRequest(
            self.pickup_datetime,
            self.pickup_zone,
            self.dropoff_zone,
            float(self.trip_distance),
            self.vendor_id,
            self.passenger_count,
        )


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
    is validated (the API answers 413); the JSON text itself is bounded by the body limit.
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


def trip_requests(trips: Sequence[TripIn], *, batch: bool) -> list[TripRequest]:
    """Domain trip requests, or InvalidInputError naming every broken field (``trips[i].field`` in batches)."""
    problems: list[FieldProblem] = []
    requests: list[TripRequest] = []
    for index, trip in enumerate(trips):
        found = trip.problems()
        if found:
            prefix = f"trips[{index}]." if batch else ""
            problems.extend(FieldProblem(prefix + p.field, p.problem) for p in found)
            continue
        requests.append(trip.to_request())
    if problems:
        raise InvalidInputError(problems)
    return requests


def _problems_of(exc: ValidationError, whole: str) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            message = f"malformed JSON: {(error.get('ctx') or {}).get('error', message)}"
        elif error.get("type") == "model_type":
            message = "must be a JSON object"
        elif error.get("type") == "missing":
            message = "required"
        elif error.get("type") == "extra_forbidden":
            message = "unknown field"
        problems.append(FieldProblem(location or whole, message))
    return problems


def parse_trip_json(text: str | bytes, *, whole: str = "trip") -> TripRequest:
    """The trip request a JSON object describes, or InvalidInputError naming each field at fault.

    ``whole`` names the input itself in problems that are about no single field (malformed JSON, not an
    object): ``--trip`` on the command line, ``trip`` in a stream event.
    """
    try:
        trip = TripIn.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidInputError(_problems_of(exc, whole)) from None
    [request] = trip_requests([trip], batch=False)
    return request

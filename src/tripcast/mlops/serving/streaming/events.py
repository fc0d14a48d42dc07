"""Trip events on a stream: a ``trip`` field holding the same JSON object the HTTP API accepts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.trip import TripRequest

EVENT_FIELD = "trip"
_KNOWN = {"pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count"}


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def parse_trip_event(fields: Mapping[Any, Any]) -> TripRequest:
    """The trip request in an event, or InvalidInputError naming each field at fault."""
    decoded = {_text(k): v for k, v in fields.items()}
    if EVENT_FIELD not in decoded:
        raise InvalidInputError(
            [FieldProblem(EVENT_FIELD, f"event has no {EVENT_FIELD!r} field (has {sorted(decoded)})")]
        )
    try:
        payload = json.loads(_text(decoded[EVENT_FIELD]))
    except ValueError as exc:
        raise InvalidInputError([FieldProblem(EVENT_FIELD, f"malformed JSON: {exc}")]) from None
    if not isinstance(payload, dict):
        raise InvalidInputError([FieldProblem(EVENT_FIELD, f"must be a JSON object, got {type(payload).__name__}")])
    unknown = sorted(set(payload) - _KNOWN)
    if unknown:
        raise InvalidInputError([FieldProblem(name, "unknown field") for name in unknown])
    moment: Any = payload.get("pickup_datetime")
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise InvalidInputError(
                [FieldProblem("pickup_datetime", f"not an ISO 8601 datetime: {moment!r}")]
            ) from None
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    distance = payload.get("trip_distance")
    if isinstance(distance, int) and not isinstance(distance, bool):
        try:
            distance = float(distance)
        except OverflowError:  # a 400-digit integer: JSON allows it, a float cannot hold it
            raise InvalidInputError(
                [FieldProblem("trip_distance", "must be a number of miles, got an integer too large for a float")]
            ) from None
    return TripRequest.create(
        pickup_datetime=moment,
        pickup_zone=payload.get("pickup_zone"),  # type: ignore[arg-type]
        dropoff_zone=payload.get("dropoff_zone"),  # type: ignore[arg-type]
        trip_distance=distance,  # type: ignore[arg-type]
        vendor_id=payload.get("vendor_id"),
        passenger_count=payload.get("passenger_count"),
    )

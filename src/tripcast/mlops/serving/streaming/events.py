"""Trip events on a stream: a ``trip`` field holding the same JSON object the HTTP API accepts.

The object is read by the one trip contract (``tripcast.mlops.serving.contracts``) the API and
``tripcast predict`` use, so an event is valid exactly when the same trip posted to the API would be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.contracts.trip import parse_trip_json

EVENT_FIELD = "trip"


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def parse_trip_event(fields: Mapping[Any, Any]) -> TripRequest:
    """The trip request in an event, or InvalidInputError naming each field at fault."""
    decoded = {_text(k): v for k, v in fields.items()}
    if EVENT_FIELD not in decoded:
        raise InvalidInputError(
            [FieldProblem(EVENT_FIELD, f"event has no {EVENT_FIELD!r} field (has {sorted(decoded)})")]
        )
    request = parse_trip_json(_text(decoded[EVENT_FIELD]), whole=EVENT_FIELD)
    moment = request.pickup_datetime
    if moment.tzinfo is not None:
        # Producers stamp events with offsets; the model, like the TLC data, works in local wall-clock time.
        return dataclasses.replace(request, pickup_datetime=moment.replace(tzinfo=None))
    return request

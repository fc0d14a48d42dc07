"""The one trip contract: the API's body model is also what `tripcast predict --trip` and stream events parse."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tripcast.api.schemas import TripIn as ApiTripIn
from tripcast.core.domain.errors import InvalidInputError
from tripcast.mlops.serving.contracts import TripIn, parse_trip_json
from tripcast.mlops.serving.streaming import parse_trip_event

TRIP = {"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}


def problems(text: str, whole: str = "trip") -> dict[str, str]:
    with pytest.raises(InvalidInputError) as caught:
        parse_trip_json(text, whole=whole)
    return {p.field: p.problem for p in caught.value.problems}


def test_the_api_body_model_is_the_contract() -> None:
    assert ApiTripIn is TripIn


def test_a_valid_trip_becomes_a_domain_request() -> None:
    request = parse_trip_json(json.dumps(TRIP))
    assert (request.pickup_datetime, request.pickup_zone, request.trip_distance) == (
        datetime(2021, 2, 1, 8, 30),
        74,
        1.2,
    )
    assert isinstance(request.trip_distance, float)


def test_types_are_strict_and_each_broken_field_is_named() -> None:
    found = problems(json.dumps({**TRIP, "pickup_zone": "74", "vendor_id": True, "extra": 1}))
    assert set(found) == {"pickup_zone", "vendor_id", "extra"} and found["extra"] == "unknown field"


def test_range_rules_are_the_cores() -> None:
    assert "1-265" in problems(json.dumps({**TRIP, "pickup_zone": 999}))["pickup_zone"]


def test_missing_fields_are_required() -> None:
    assert problems(json.dumps({"pickup_zone": 74}))["trip_distance"] == "required"


def test_malformed_input_is_named_by_what_the_caller_called_it() -> None:
    assert problems("{oops", whole="--trip")["--trip"].startswith("malformed JSON")
    assert problems("[1, 2]", whole="--trip") == {"--trip": "must be a JSON object"}


def test_numbers_are_not_timestamps() -> None:
    assert "ISO 8601" in problems(json.dumps({**TRIP, "pickup_datetime": 1612168200}))["pickup_datetime"]


def test_stream_events_use_the_same_contract_and_drop_the_offset() -> None:
    event = {b"trip": json.dumps({**TRIP, "pickup_datetime": "2021-02-01T08:30:00+00:00"}).encode()}
    assert parse_trip_event(event).pickup_datetime == datetime(2021, 2, 1, 8, 30)
    with pytest.raises(InvalidInputError, match="pickup_zone"):
        parse_trip_event({b"trip": json.dumps({**TRIP, "pickup_zone": "74"}).encode()})
    with pytest.raises(InvalidInputError, match="no 'trip' field"):
        parse_trip_event({b"other": b"{}"})

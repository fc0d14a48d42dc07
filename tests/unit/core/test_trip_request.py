from datetime import datetime

import pytest

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.trip import MAX_PLAUSIBLE_DISTANCE_MILES, TripRequest, trip_problems

VALID = dict(pickup_datetime=datetime(2021, 2, 1, 8, 30), pickup_zone=74, dropoff_zone=75, trip_distance=1.2)


def test_valid_request_is_built_with_normalised_types():
    trip = TripRequest.create(**VALID, passenger_count=2, vendor_id=1)
    assert trip.pickup_zone == 74 and isinstance(trip.trip_distance, float)
    assert trip.passenger_count == 2


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"pickup_zone": 0}, "pickup_zone", "outside 1-265"),
        ({"dropoff_zone": 266}, "dropoff_zone", "outside 1-265"),
        ({"pickup_zone": "74"}, "pickup_zone", "integer zone id"),
        ({"pickup_zone": True}, "pickup_zone", "integer zone id"),
        ({"trip_distance": -0.1}, "trip_distance", ">= 0"),
        ({"trip_distance": MAX_PLAUSIBLE_DISTANCE_MILES + 1}, "trip_distance", "implausible"),
        ({"trip_distance": float("nan")}, "trip_distance", "finite"),
        ({"pickup_datetime": datetime(2008, 12, 31)}, "pickup_datetime", "before TLC records begin"),
        ({"pickup_datetime": "yesterday"}, "pickup_datetime", "must be a datetime"),
        ({"passenger_count": 12}, "passenger_count", "0-9"),
        ({"vendor_id": 0}, "vendor_id", "positive integer"),
    ],
)
def test_each_broken_rule_names_its_field(override, field, fragment):
    with pytest.raises(InvalidInputError) as info:
        TripRequest.create(**{**VALID, **override})
    [problem] = info.value.problems
    assert problem.field == field
    assert fragment in problem.problem
    assert field in str(info.value)


def test_all_problems_are_reported_together():
    problems = trip_problems(pickup_datetime=None, pickup_zone=999, dropoff_zone=-1, trip_distance=-5)
    assert [p.field for p in problems] == ["pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance"]


def test_future_pickup_is_rejected_only_when_a_latest_time_is_given():
    later = datetime(2030, 1, 1)
    assert trip_problems(**{**VALID, "pickup_datetime": later}) == []
    [problem] = trip_problems(**{**VALID, "pickup_datetime": later}, latest_pickup=datetime(2026, 1, 1))
    assert problem.field == "pickup_datetime" and "future" in problem.problem

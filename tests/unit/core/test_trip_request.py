from datetime import UTC, datetime, timedelta

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


def test_pickup_more_than_a_day_ahead_is_refused():
    """Defect 11: a far-future pickup (a typo like 2201) used to be predicted as if it were real."""
    now = datetime.now(UTC).replace(tzinfo=None)
    assert trip_problems(**{**VALID, "pickup_datetime": now + timedelta(hours=20)}) == []
    for later in (now + timedelta(days=1, minutes=5), datetime(2030, 1, 1), datetime(2201, 2, 1)):
        [problem] = trip_problems(**{**VALID, "pickup_datetime": later})
        assert problem.field == "pickup_datetime" and "future" in problem.problem


def test_an_explicit_latest_pickup_overrides_the_default_window():
    [problem] = trip_problems(**{**VALID, "pickup_datetime": datetime(2025, 1, 1)}, latest_pickup=datetime(2024, 1, 1))
    assert problem.field == "pickup_datetime" and "future" in problem.problem


@pytest.mark.parametrize("huge", [10**400, -(10**400), float("inf")])
def test_huge_distances_are_a_field_problem_not_an_overflow(huge):
    """Defect 12: a 400-digit trip_distance raised OverflowError instead of naming the field."""
    [problem] = trip_problems(**{**VALID, "trip_distance": huge})
    assert problem.field == "trip_distance" and "finite" in problem.problem
    assert len(problem.problem) < 80


def test_huge_integers_elsewhere_are_named_briefly():
    problems = trip_problems(**{**VALID, "pickup_zone": 10**5000, "passenger_count": 10**5000})
    assert [p.field for p in problems] == ["pickup_zone", "passenger_count"]
    assert all(len(p.problem) < 80 for p in problems)

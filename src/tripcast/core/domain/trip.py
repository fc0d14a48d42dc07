"""The taxi trip as the predictor sees it: only what is known at pickup time."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

MIN_ZONE_ID = 1
MAX_ZONE_ID = 265
#: Longest plausible single NYC taxi trip, miles. TLC files contain odometer garbage up to 244,000.
MAX_PLAUSIBLE_DISTANCE_MILES = 100.0
MAX_PASSENGERS = 9
#: Trip records exist from 2009; nothing before that can be a real pickup.
EARLIEST_PICKUP = datetime(2009, 1, 1)
#: How far past the current UTC time a pickup may be: NYC local time is behind UTC, and a client may
#: ask about tonight's trip; beyond that a date is a typo (2201 for 2021), not a trip.
MAX_PICKUP_AHEAD = timedelta(days=1)
#: Accepted trip durations, minutes, for training and evaluation targets.
MIN_DURATION_MINUTES = 1.0
MAX_DURATION_MINUTES = 60.0


@dataclass(frozen=True, slots=True)
class TripRequest:
    """A trip to predict, validated on construction through :meth:`create`."""

    pickup_datetime: datetime
    pickup_zone: int
    dropoff_zone: int
    trip_distance: float
    vendor_id: int | None = None
    passenger_count: int | None = None

    @classmethod
    def create(
        cls,
        *,
        pickup_datetime: datetime,
        pickup_zone: int,
        dropoff_zone: int,
        trip_distance: float,
        vendor_id: int | None = None,
        passenger_count: int | None = None,
        latest_pickup: datetime | None = None,
    ) -> TripRequest:
        """Build a trip request, raising :class:`InvalidInputError` naming every bad field."""
        problems = trip_problems(
            pickup_datetime=pickup_datetime,
            pickup_zone=pickup_zone,
            dropoff_zone=dropoff_zone,
            trip_distance=trip_distance,
            vendor_id=vendor_id,
            passenger_count=passenger_count,
            latest_pickup=latest_pickup,
        )
        if problems:
            raise InvalidInputError(problems)
        return cls(
            pickup_datetime, int(pickup_zone), int(dropoff_zone), float(trip_distance), vendor_id, passenger_count
        )


def zone_problem(field: str, zone: object) -> FieldProblem | None:
    """The problem with a zone id, or None when it is a valid TLC zone."""
    if isinstance(zone, bool) or not isinstance(zone, int):
        return FieldProblem(field, f"must be an integer zone id, got {_short(zone)}")
    if not MIN_ZONE_ID <= zone <= MAX_ZONE_ID:
        return FieldProblem(field, f"zone id {_short(zone)} is outside {MIN_ZONE_ID}-{MAX_ZONE_ID}")
    return None


def pickup_problem(pickup: datetime, latest_pickup: datetime | None = None) -> FieldProblem | None:
    """The problem with a pickup time (local NYC time; a timezone is dropped), or None when plausible."""
    naive = pickup.replace(tzinfo=None)
    if naive < EARLIEST_PICKUP:
        return FieldProblem("pickup_datetime", f"{naive:%Y-%m-%d} is before TLC records begin (2009-01-01)")
    latest = latest_pickup if latest_pickup is not None else _default_latest_pickup()
    if naive > latest:
        return FieldProblem(
            "pickup_datetime", f"{naive:%Y-%m-%d %H:%M} is in the future (latest {latest:%Y-%m-%d %H:%M})"
        )
    return None


class _LatestPickup:
    """The current UTC time plus :data:`MAX_PICKUP_AHEAD`, recomputed at most once a second.

    ``trip_problems`` runs once per row in batch scoring; reading the clock there would double its cost.
    """

    __slots__ = ("_expires", "_value")

    def __init__(self) -> None:
        self._expires = -math.inf
        self._value = datetime.min

    def __call__(self) -> datetime:
        tick = time.monotonic()
        if tick >= self._expires:
            self._value = datetime.now(UTC).replace(tzinfo=None) + MAX_PICKUP_AHEAD
            self._expires = tick + 1.0
        return self._value


_default_latest_pickup = _LatestPickup()


def _short(value: object) -> str:
    # A 400-digit number in an error message is noise (and str() of a huge int is refused in 3.11+).
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else f"a {type(value).__name__} too large"
    return text if len(text) <= 60 else text[:57] + "..."


def distance_problem(distance: object) -> FieldProblem | None:
    """The problem with a trip distance in miles, or None when plausible."""
    if isinstance(distance, bool) or not isinstance(distance, int | float):
        return FieldProblem("trip_distance", f"must be a number of miles, got {_short(distance)}")
    try:
        miles = float(distance)  # a 400-digit integer overflows here rather than in a later comparison
    except OverflowError:
        return FieldProblem("trip_distance", "must be a finite number (this one is too large)")
    if math.isnan(miles) or math.isinf(miles):
        return FieldProblem("trip_distance", "must be a finite number")
    if miles < 0:
        return FieldProblem("trip_distance", f"must be >= 0, got {_short(distance)}")
    if miles > MAX_PLAUSIBLE_DISTANCE_MILES:
        return FieldProblem(
            "trip_distance", f"{_short(distance)} miles is implausible (max {MAX_PLAUSIBLE_DISTANCE_MILES:g})"
        )
    return None


def trip_problems(
    *,
    pickup_datetime: object,
    pickup_zone: object,
    dropoff_zone: object,
    trip_distance: object,
    vendor_id: object = None,
    passenger_count: object = None,
    latest_pickup: datetime | None = None,
) -> list[FieldProblem]:
    """Every rule a trip request breaks; empty when the request is valid.

    ``pickup_datetime`` must lie between :data:`EARLIEST_PICKUP` and ``latest_pickup`` (default: the current
    UTC time plus :data:`MAX_PICKUP_AHEAD`).
    """
    problems: list[FieldProblem] = []
    if not isinstance(pickup_datetime, datetime):
        problems.append(FieldProblem("pickup_datetime", f"must be a datetime, got {_short(pickup_datetime)}"))
    else:
        problem = pickup_problem(pickup_datetime, latest_pickup)
        if problem:
            problems.append(problem)
    for field, zone in (("pickup_zone", pickup_zone), ("dropoff_zone", dropoff_zone)):
        problem = zone_problem(field, zone)
        if problem:
            problems.append(problem)
    problem = distance_problem(trip_distance)
    if problem:
        problems.append(problem)
    if vendor_id is not None and (isinstance(vendor_id, bool) or not isinstance(vendor_id, int) or vendor_id < 1):
        problems.append(FieldProblem("vendor_id", f"must be a positive integer, got {_short(vendor_id)}"))
    if passenger_count is not None and (
        isinstance(passenger_count, bool)
        or not isinstance(passenger_count, int)
        or not 0 <= passenger_count <= MAX_PASSENGERS
    ):
        problems.append(
            FieldProblem("passenger_count", f"must be an integer in 0-{MAX_PASSENGERS}, got {_short(passenger_count)}")
        )
    return problems

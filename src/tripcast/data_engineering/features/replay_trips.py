"""A month of valid taxi trips as labelled requests for an experiment replay (issue #14 item 4).

Each valid trip becomes what a client would have asked at pickup (a :class:`TripRequest`) labelled with
the duration it really took; the generic replay (:mod:`tripcast.core.services.experiment_replay`) sends
them as traffic. Also the JSON body ``POST /v1/predictions`` takes for one request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.replay import LabelledRequest
from tripcast.data_engineering.tlc.schema import DURATION_COLUMN

if TYPE_CHECKING:
    import pandas as pd

#: The sample of a month a ``--limit`` replay takes is the same on every run.
SAMPLE_SEED = 14


def labelled_trips(valid: pd.DataFrame, limit: int | None = None) -> list[LabelledRequest]:
    """Valid trips (validator output, with ``duration_minutes``) as requests labelled with their duration.

    With ``limit``, a reproducible random sample of that many trips (the whole month's mix of hours and
    zones, not its first day); always in pickup order, as the traffic would have arrived.
    """
    import pandas as pd

    trips = valid
    if limit is not None and limit < len(trips):
        trips = trips.sample(n=limit, random_state=SAMPLE_SEED)
    trips = trips.sort_values("pickup_datetime", kind="stable")
    pickups = pd.to_datetime(trips["pickup_datetime"]).dt.tz_localize(None).to_numpy("datetime64[us]").tolist()
    vendors = _optional_ints(trips, "vendor_id")
    passengers = _optional_ints(trips, "passenger_count")
    columns = zip(
        pickups,
        trips["pickup_zone"].astype(int),
        trips["dropoff_zone"].astype(int),
        trips["trip_distance"].astype(float),
        vendors,
        passengers,
        trips[DURATION_COLUMN].astype(float),
        strict=True,
    )
    return [
        LabelledRequest(TripRequest(at, int(pu), int(do), float(miles), vendor, count), float(minutes))
        for at, pu, do, miles, vendor, count, minutes in columns
    ]


def trip_json(payload: object) -> dict[str, object]:
    """The ``POST /v1/predictions`` body of one replayed trip request."""
    if not isinstance(payload, TripRequest):
        raise TypeError(f"a trip replay sends TripRequest payloads, got {type(payload).__name__}")
    body: dict[str, object] = {
        "pickup_datetime": payload.pickup_datetime.isoformat(),
        "pickup_zone": payload.pickup_zone,
        "dropoff_zone": payload.dropoff_zone,
        "trip_distance": payload.trip_distance,
    }
    if payload.vendor_id is not None:
        body["vendor_id"] = payload.vendor_id
    if payload.passenger_count is not None:
        body["passenger_count"] = payload.passenger_count
    return body


def _optional_ints(trips: pd.DataFrame, column: str) -> list[int | None]:
    """A nullable integer column as Python ints and None (absent column: all None)."""
    import pandas as pd

    if column not in trips.columns:
        return [None] * len(trips)
    return [None if pd.isna(v) else int(v) for v in trips[column]]

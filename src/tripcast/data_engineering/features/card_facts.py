"""What a trip-duration model card says that only the taxi domain knows: its slices, use and limits.

The card machinery (``tripcast.mlops.model_cards``) is generic; the root injects these.
"""

from __future__ import annotations

from typing import Final

from tripcast.core.domain.model_card import SliceDimension
from tripcast.data_engineering.tlc.zones import ZoneLookup

TRIP_INTENDED_USE: Final = (
    "Predict the minutes a NYC TLC taxi trip will take, from what is known at pickup (zones, borough, "
    "distance, hour, weekday), for riders' and dispatchers' estimates. Not for pricing, driver pay or any "
    "decision about a person."
)

TRIP_LIMITATIONS: Final = (
    "Trained on one month of one TLC service (see Training data); other services, months with unusual "
    "traffic (holidays, storms, events) and trips between rarely served zones are predicted less well.",
    "Distance is the trip's recorded distance: a request must estimate it before the trip, and errors in "
    "that estimate pass straight into the prediction.",
    "Durations come from the meter (pickup to dropoff): waiting time before pickup is not predicted.",
    "Errors grow with trip length and are largest in slices with few rows (see Metrics by slice).",
)

#: Hour-of-day bands at pickup (edges are the first hour of the next band).
HOUR_BANDS: Final = SliceDimension(
    name="hour band",
    column="pickup_hour",
    edges=(6, 10, 16, 20),
    labels=("night 0-5", "morning 6-9", "midday 10-15", "evening 16-19", "late 20-23"),
)

#: Trip-distance bands, miles.
DISTANCE_BANDS: Final = SliceDimension(
    name="distance band",
    column="trip_distance",
    edges=(1.0, 2.0, 5.0, 10.0),
    labels=("<1 mi", "1-2 mi", "2-5 mi", "5-10 mi", "10+ mi"),
)


def trip_slice_dimensions(zones: ZoneLookup | None = None) -> tuple[SliceDimension, ...]:
    """Pickup borough (named from the feature's codes), hour band and distance band."""
    lookup = zones if zones is not None else ZoneLookup.bundled()
    boroughs = {code: name for name, code in lookup.borough_codes().items()}
    borough = SliceDimension(name="pickup borough", column="pickup_borough", categories=boroughs)
    return (borough, HOUR_BANDS, DISTANCE_BANDS)

"""Constructed trips and a brute-force oracle for the feature store's point-in-time zone aggregates."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

T0 = datetime(2021, 3, 10, tzinfo=UTC)


def constructed_trips(rng: np.random.Generator, n: int, days: int) -> pd.DataFrame:
    """Trips between zones 1-3 over ``days`` days from T0, so windows are busy and overlap the events."""
    pickup = pd.Timestamp(T0) + pd.to_timedelta(rng.uniform(0, days * 24 * 60, n), unit="min")
    duration = rng.uniform(3, 40, n)
    return pd.DataFrame(
        {
            "pickup_zone": rng.integers(1, 4, n),
            "dropoff_zone": rng.integers(1, 4, n),
            "pickup_datetime": pickup.tz_localize(None),
            "dropoff_datetime": (pickup + pd.to_timedelta(duration, unit="min")).tz_localize(None),
            "trip_distance": rng.uniform(0.5, 8, n),
            "duration_minutes": duration,
        }
    )


def leak_free(trips: pd.DataFrame, zone: int, dropoff: int, at: pd.Timestamp) -> dict[str, float]:
    """What a leak-free feature may contain at ``at``: trips that ENDED before it, in each feature's window.

    ``at`` may be naive (trip pickup times) or UTC-aware (Feast event timestamps); the naive dropoff
    times of ``trips`` are read as UTC to match.
    """
    ended = trips["dropoff_datetime"]
    if at.tzinfo is not None:
        ended = ended.dt.tz_localize("UTC")
    hour, day = at.floor("h"), at.floor("D")
    in_hour = trips[(trips.pickup_zone == zone) & (ended >= hour - pd.Timedelta(hours=1)) & (ended < hour)]
    in_week = trips[
        (trips.pickup_zone == zone)
        & (trips.dropoff_zone == dropoff)
        & (ended >= day - pd.Timedelta(days=7))
        & (ended < day)
    ]
    return {
        "zone_trips_1h": float(len(in_hour)) if len(in_hour) else np.nan,
        "zone_median_duration_1h": float(in_hour.duration_minutes.median()) if len(in_hour) else np.nan,
        "pair_trips_7d": float(len(in_week)) if len(in_week) else np.nan,
        "pair_median_duration_7d": float(in_week.duration_minutes.median()) if len(in_week) else np.nan,
    }

"""The store-backed builder's training join: a trip at T only sees aggregates of trips that ended before T."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.trip_duration import TRIP_DURATION_WITH_STORE_SPEC
from tripcast.data_engineering.features.store_features import StoreBackedTripFeatureBuilder
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore

T0 = datetime(2021, 3, 10, tzinfo=UTC)


def constructed_trips(rng: np.random.Generator, n: int = 500) -> pd.DataFrame:
    """Trips between zones 1-3 over three days, so windows are busy and overlap the events."""
    pickup = pd.Timestamp(T0) + pd.to_timedelta(rng.uniform(0, 3 * 24 * 60, n), unit="min")
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
    """Brute force: aggregates of the trips that ENDED before ``at`` within each feature's window."""
    ended = trips["dropoff_datetime"]
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


@pytest.fixture()
def trips_and_builder(tmp_path: Path) -> tuple[pd.DataFrame, StoreBackedTripFeatureBuilder]:
    trips = constructed_trips(np.random.default_rng(5))
    # A trap for the first trip: same zone pair, ends one minute after its pickup, absurd duration.
    first = trips.iloc[0]
    trap = trips.iloc[:1].copy()
    trap["pickup_datetime"] = first.pickup_datetime - pd.Timedelta(minutes=30)
    trap["dropoff_datetime"] = first.pickup_datetime + pd.Timedelta(minutes=1)
    trap["duration_minutes"] = 999.0
    trips = pd.concat([trips, trap], ignore_index=True)
    settings = FeatureStoreSettings(tmp_path / "repo", tmp_path / "offline")
    build_tables_from_trips(trips, settings.offline_dir)
    ZoneFeatureStore(settings).apply()
    return trips, StoreBackedTripFeatureBuilder(settings, TripFeatureBuilder())


def test_training_join_only_sees_trips_that_ended_before_pickup(
    trips_and_builder: tuple[pd.DataFrame, StoreBackedTripFeatureBuilder],
) -> None:
    trips, builder = trips_and_builder
    data = builder.training_set(trips, "constructed")
    features = data.features
    assert list(features.columns) == TRIP_DURATION_WITH_STORE_SPEC.feature_names
    assert len(features) == len(trips)
    # Row order is the trips' order: the spine columns still match their own trip.
    np.testing.assert_array_equal(features["pickup_zone"].to_numpy(), trips["pickup_zone"].to_numpy())
    np.testing.assert_array_equal(np.asarray(data.target), trips["duration_minutes"].to_numpy())

    checked = 0
    for i, trip in trips.iterrows():
        expected = leak_free(trips, trip.pickup_zone, trip.dropoff_zone, trip.pickup_datetime)
        for name, value in expected.items():
            got = features.at[i, name]
            if np.isnan(value):
                assert np.isnan(got), (i, name)
            else:
                assert got == pytest.approx(value), (i, name)
                checked += 1
    assert checked > 300  # many non-empty windows were really compared

    # The trap ended one minute after the first trip's pickup: invisible to it ...
    first = features.iloc[0]
    without_trap = trips.iloc[:-1]
    at = trips.iloc[0].pickup_datetime
    blind = leak_free(without_trap, first.pickup_zone, first.dropoff_zone, at)
    for name, value in blind.items():
        assert (np.isnan(value) and np.isnan(first[name])) or first[name] == pytest.approx(value), name
    # ... and counted for a trip of the same zone picked up after the trap's hour closed.
    later = trips.iloc[[0]].copy()
    later["pickup_datetime"] = trips.iloc[-1].dropoff_datetime.ceil("h") + pd.Timedelta(minutes=5)
    at_later = later["pickup_datetime"].iloc[0]
    later_row = builder.training_set(later, "later").features.iloc[0]
    with_trap = leak_free(trips, first.pickup_zone, first.dropoff_zone, at_later)["zone_trips_1h"]
    no_trap = leak_free(without_trap, first.pickup_zone, first.dropoff_zone, at_later)["zone_trips_1h"]
    assert later_row["zone_trips_1h"] == pytest.approx(with_trap)
    assert with_trap == (no_trap if not np.isnan(no_trap) else 0) + 1


def test_period_outside_the_offline_tables_is_refused(
    trips_and_builder: tuple[pd.DataFrame, StoreBackedTripFeatureBuilder],
) -> None:
    trips, builder = trips_and_builder
    far = trips.head(20).copy()
    far["pickup_datetime"] = far["pickup_datetime"] + pd.Timedelta(days=60)
    far["dropoff_datetime"] = far["dropoff_datetime"] + pd.Timedelta(days=60)
    from tripcast.data_engineering.features.store_features import FeatureStoreNotReadyError

    with pytest.raises(FeatureStoreNotReadyError, match="do not cover 'far'"):
        builder.training_set(far, "far")

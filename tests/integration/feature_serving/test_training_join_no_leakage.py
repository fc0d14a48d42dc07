"""The store-backed builder's training join: a trip at T only sees aggregates of trips that ended before T."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.zone_aggregates import constructed_trips, leak_free
from tripcast.core.domain.trip_duration import TRIP_DURATION_WITH_STORE_SPEC
from tripcast.data_engineering.features.store_features import StoreBackedTripFeatureBuilder
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.feature_store.offline import build_tables_from_trips
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore


@pytest.fixture()
def trips_and_builder(tmp_path: Path) -> tuple[pd.DataFrame, StoreBackedTripFeatureBuilder]:
    trips = constructed_trips(np.random.default_rng(5), n=500, days=3)
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

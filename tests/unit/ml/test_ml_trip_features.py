"""Trip features on hand-made trips: values, dtypes, column order, and both request paths agreeing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder, table_digest
from tripcast.data_engineering.tlc.zones import ZoneLookup

ZONES = ZoneLookup.bundled()
BOROUGH = ZONES.borough_codes()
SERVICE = ZONES.service_zone_codes()


def _trips(rows: list[tuple[str, int, int, float, float]]) -> pd.DataFrame:
    """Processed trips from (pickup time, pickup zone, dropoff zone, miles, minutes)."""
    frame = pd.DataFrame(rows, columns=["pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "minutes"])
    frame["pickup_datetime"] = pd.to_datetime(frame["pickup_datetime"]).astype("datetime64[us]")
    frame["dropoff_datetime"] = frame["pickup_datetime"] + pd.to_timedelta(frame["minutes"], unit="min")
    frame["pickup_zone"] = frame["pickup_zone"].astype("Int32")
    frame["dropoff_zone"] = frame["dropoff_zone"].astype("Int32")
    return frame.rename(columns={"minutes": "duration_minutes"})


TRIPS = _trips(
    [
        ("2021-01-04 08:30:00", 132, 236, 17.5, 42.0),  # Monday morning, JFK -> Upper East Side
        ("2021-01-09 23:59:59", 74, 74, 0.4, 3.5),  # Saturday night, same zone
        ("2021-01-10 00:00:00", 1, 265, 2.0, 10.0),  # Sunday midnight, EWR -> unknown zone
    ]
)


@pytest.fixture(scope="module")
def builder() -> TripFeatureBuilder:
    return TripFeatureBuilder()


def test_values_follow_the_definitions(builder: TripFeatureBuilder) -> None:
    features = builder.training_set(TRIPS, "hand-made").features
    first = features.iloc[0]
    assert first["pickup_zone"] == 132 and first["dropoff_zone"] == 236
    assert first["zone_pair"] == 132_236
    assert first["pickup_hour"] == 8 and first["pickup_weekday"] == 0
    assert first["pickup_borough"] == BOROUGH["Queens"] and first["dropoff_borough"] == BOROUGH["Manhattan"]
    assert first["pickup_service_zone"] == SERVICE["Airports"]
    assert first["dropoff_service_zone"] == SERVICE["Yellow Zone"]
    assert first["trip_distance"] == pytest.approx(17.5)
    assert first["same_zone"] == 0
    assert features["same_zone"].tolist() == [0, 1, 0]
    assert features["pickup_hour"].tolist() == [8, 23, 0]
    assert features["pickup_weekday"].tolist() == [0, 5, 6]
    assert features["zone_pair"].tolist() == [132_236, 74_074, 1_265]
    assert features.iloc[2]["pickup_borough"] == BOROUGH["EWR"]
    assert features.iloc[2]["dropoff_service_zone"] == SERVICE["N/A"]


def test_columns_are_spec_ordered_plain_numbers_never_categoricals(builder: TripFeatureBuilder) -> None:
    features = builder.training_set(TRIPS, "hand-made").features
    assert list(features.columns) == TRIP_DURATION_SPEC.feature_names
    for name, dtype in features.dtypes.items():
        assert not isinstance(dtype, pd.CategoricalDtype), name
        expected = np.float64 if name == "trip_distance" else np.int64
        assert dtype == expected, f"{name} is {dtype}"


def test_target_and_digest(builder: TripFeatureBuilder) -> None:
    data = builder.training_set(TRIPS, "2021-01")
    assert data.name == "2021-01" and len(data) == 3
    np.testing.assert_allclose(data.target, [42.0, 3.5, 10.0])
    assert data.digest == builder.training_set(TRIPS.copy(), "other name").digest  # content, not name
    assert len(data.digest) == 16 and int(data.digest, 16) >= 0
    changed = TRIPS.copy()
    changed.loc[1, "duration_minutes"] = 3.6
    assert builder.training_set(changed, "2021-01").digest != data.digest
    assert table_digest(data.features) != table_digest(data.features, data.target)


def _requests() -> list[TripRequest]:
    return [
        TripRequest.create(
            pickup_datetime=row.pickup_datetime.to_pydatetime(),
            pickup_zone=int(row.pickup_zone),
            dropoff_zone=int(row.dropoff_zone),
            trip_distance=float(row.trip_distance),
        )
        for row in TRIPS.itertuples()
    ]


def test_request_paths_equal_the_training_path(builder: TripFeatureBuilder) -> None:
    requests = _requests()
    from_trips = builder.training_set(TRIPS, "t").features
    frame = builder.features_for_requests(requests)
    matrix = builder.feature_matrix(requests)
    pd.testing.assert_frame_equal(frame, from_trips)
    assert matrix.dtype == np.float64 and matrix.shape == (3, len(TRIP_DURATION_SPEC.features))
    np.testing.assert_array_equal(matrix, frame.to_numpy(dtype=np.float64))


def test_request_hour_is_wall_clock_time_even_with_a_timezone(builder: TripFeatureBuilder) -> None:
    eastern = timezone(timedelta(hours=-5))
    request = TripRequest.create(
        pickup_datetime=datetime(2021, 1, 4, 8, 30, tzinfo=eastern), pickup_zone=1, dropoff_zone=2, trip_distance=1.0
    )
    utc = TripRequest.create(
        pickup_datetime=datetime(2021, 1, 4, 8, 30, tzinfo=UTC), pickup_zone=1, dropoff_zone=2, trip_distance=1.0
    )
    matrix = builder.feature_matrix([request, utc])
    hour = TRIP_DURATION_SPEC.feature_names.index("pickup_hour")
    assert matrix[:, hour].tolist() == [8.0, 8.0]


def test_empty_requests_give_empty_tables(builder: TripFeatureBuilder) -> None:
    assert builder.feature_matrix([]).shape == (0, len(TRIP_DURATION_SPEC.features))
    assert list(builder.features_for_requests([]).columns) == TRIP_DURATION_SPEC.feature_names


def test_missing_target_column_is_named(builder: TripFeatureBuilder) -> None:
    with pytest.raises(InvalidInputError) as caught:
        builder.training_set(TRIPS.drop(columns=["duration_minutes"]), "raw")
    assert [p.field for p in caught.value.problems] == ["duration_minutes"]
    assert "processed trips" in str(caught.value)


def test_zone_out_of_range_and_missing_values_are_named(builder: TripFeatureBuilder) -> None:
    bad = TRIPS.copy()
    bad.loc[0, "dropoff_zone"] = 300
    with pytest.raises(InvalidInputError, match=r"dropoff_zone: 1 zone ids outside 1-265, e.g. \[300\]"):
        builder.training_set(bad, "bad")
    missing = TRIPS.copy()
    missing.loc[1, "pickup_zone"] = pd.NA
    with pytest.raises(InvalidInputError, match="pickup_zone: 1 missing values"):
        builder.training_set(missing, "bad")
    infinite = TRIPS.copy()
    infinite.loc[2, "trip_distance"] = np.inf
    with pytest.raises(InvalidInputError, match="trip_distance"):
        builder.training_set(infinite, "bad")

"""Every quarantine reason on constructed rows, and the row-accounting invariant on garbage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd
from tlc_rows import JAN, green_rows, raw

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import MAX_PLAUSIBLE_DISTANCE_MILES
from tripcast.data_engineering.tlc.casting import conform
from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS, DURATION_COLUMN, REASON_COLUMN
from tripcast.data_engineering.tlc.validation import (
    PROCESSED_TRIP_SCHEMA,
    TRIP_SCHEMA,
    PanderaTripValidator,
    build_trip_schema,
    reason_table,
)
from tripcast.data_engineering.tlc.zones import ZoneLookup

VALIDATOR = PanderaTripValidator()


def _one_bad_row(**changes: Any) -> pd.DataFrame:
    """Three good rows, the middle one changed."""
    table = green_rows(3)
    for column, value in changes.items():
        table[column] = table[column].astype(object)
        table.at[1, column] = value
    return table


def _reasons_of_middle_row(table: pd.DataFrame, month: Month = JAN) -> str:
    outcome = VALIDATOR.split(raw(table, month))
    assert outcome.n_valid == 2 and outcome.n_quarantined == 1
    return str(outcome.quarantined[REASON_COLUMN].iloc[0])


def test_good_rows_are_valid_with_duration() -> None:
    outcome = VALIDATOR.split(raw(green_rows(5)))
    assert outcome.n_valid == 5 and outcome.n_quarantined == 0
    assert outcome.reasons == {}
    assert outcome.valid[DURATION_COLUMN].tolist() == [12.0] * 5
    assert list(outcome.valid.columns) == [*CANONICAL_COLUMNS, DURATION_COLUMN]
    assert list(outcome.quarantined.columns) == [*CANONICAL_COLUMNS, REASON_COLUMN]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lpep_dropoff_datetime": None}, "missing_required_field"),
        ({"PULocationID": None}, "missing_required_field"),
        ({"trip_distance": np.nan}, "missing_required_field"),
        ({"lpep_dropoff_datetime": datetime(2021, 1, 5, 8, 7)}, "dropoff_not_after_pickup"),
        ({"lpep_dropoff_datetime": datetime(2021, 1, 5, 8, 5)}, "dropoff_not_after_pickup"),
        ({"lpep_dropoff_datetime": datetime(2021, 1, 5, 8, 7, 50)}, "duration_out_of_range"),
        ({"lpep_dropoff_datetime": datetime(2021, 1, 5, 9, 8)}, "duration_out_of_range"),
        ({"trip_distance": -0.5}, "negative_distance"),
        ({"trip_distance": MAX_PLAUSIBLE_DISTANCE_MILES + 0.01}, "implausible_distance"),
        ({"trip_distance": 244_152.01}, "implausible_distance"),
        ({"PULocationID": 0}, "unknown_pickup_zone"),
        ({"PULocationID": 266}, "unknown_pickup_zone"),
        ({"DOLocationID": 999}, "unknown_dropoff_zone"),
        ({"passenger_count": 1.5}, "wrong_type_passenger_count"),
        ({"RatecodeID": "x"}, "wrong_type_ratecode_id"),
    ],
)
def test_each_reason(changes: dict[str, object], reason: str) -> None:
    assert _reasons_of_middle_row(_one_bad_row(**changes)) == reason


def test_pickup_outside_month() -> None:
    early = datetime(2009, 1, 1, 0, 0)
    table = _one_bad_row(lpep_pickup_datetime=early, lpep_dropoff_datetime=early + timedelta(minutes=10))
    assert _reasons_of_middle_row(table) == "pickup_outside_month"
    late = datetime(2021, 2, 1, 0, 0)
    table = _one_bad_row(lpep_pickup_datetime=late, lpep_dropoff_datetime=late + timedelta(minutes=10))
    assert _reasons_of_middle_row(table) == "pickup_outside_month"
    # The same row is fine when the file is February's, and the January rows are not.
    february = VALIDATOR.split(raw(table, Month(2021, 2)))
    assert february.valid["pickup_datetime"].tolist() == [pd.Timestamp(late)]
    assert february.reasons == {"pickup_outside_month": 2}


def test_all_reasons_of_a_row_are_listed() -> None:
    table = _one_bad_row(trip_distance=-3.0, PULocationID=300, DOLocationID=0, passenger_count=2.5)
    table.loc[1, "lpep_dropoff_datetime"] = table["lpep_pickup_datetime"].iloc[1] + timedelta(hours=3)
    reasons = _reasons_of_middle_row(table).split("; ")
    assert reasons == [
        "duration_out_of_range",
        "negative_distance",
        "unknown_pickup_zone",
        "unknown_dropoff_zone",
        "wrong_type_passenger_count",
    ]


def test_an_uncastable_required_value_is_both_wrong_type_and_missing() -> None:
    reasons = _reasons_of_middle_row(_one_bad_row(PULocationID=74.5)).split("; ")
    assert reasons == ["missing_required_field", "wrong_type_pickup_zone"]


def test_reason_counts_and_table() -> None:
    table = green_rows(6)
    table["trip_distance"] = [-1.0, -1.0, 500.0, 1.0, 1.0, 1.0]
    table["PULocationID"] = [74, 74, 74, 0, 74, 74]
    outcome = VALIDATOR.split(raw(table))
    assert outcome.reasons == {"negative_distance": 2, "implausible_distance": 1, "unknown_pickup_zone": 1}
    assert reason_table(outcome) == [("negative_distance", 2), ("implausible_distance", 1), ("unknown_pickup_zone", 1)]
    assert outcome.n_valid == 2


def test_zone_lookup_is_injectable() -> None:
    bundled = ZoneLookup.bundled().table
    small = ZoneLookup(bundled.loc[[74, 75]])
    table = green_rows(2)
    table["DOLocationID"] = [75, 76]
    outcome = PanderaTripValidator(small).split(raw(table))
    assert outcome.reasons == {"unknown_dropoff_zone": 1}


def test_validator_accepts_canonical_tables_and_raw_ones_alike() -> None:
    canonical = conform(green_rows(4), service="green")
    a = VALIDATOR.split(raw(canonical))
    b = VALIDATOR.split(raw(green_rows(4)))
    pd.testing.assert_frame_equal(a.valid, b.valid)
    assert set(b.valid["service"]) == {"green"}


def test_table_missing_a_required_column_is_all_quarantined_not_crashed() -> None:
    outcome = VALIDATOR.split(raw(green_rows(3).drop(columns=["trip_distance"])))
    assert outcome.n_valid == 0 and outcome.n_quarantined == 3
    assert outcome.reasons == {"missing_required_field": 3}


def test_any_index_is_fine_and_outputs_are_renumbered() -> None:
    table = green_rows(3)
    table.index = [10, 5, 7]
    table.loc[5, "trip_distance"] = -1.0
    outcome = VALIDATOR.split(raw(table))
    assert outcome.n_valid == 2 and outcome.quarantined[REASON_COLUMN].tolist() == ["negative_distance"]
    assert outcome.valid.index.tolist() == [0, 1]


def test_ambiguous_columns_are_an_input_error() -> None:
    table = green_rows(2)
    table["airport_fee"] = 0.0
    table["Airport_fee"] = 1.25
    with pytest.raises(InvalidInputError, match="Airport_fee"):
        VALIDATOR.split(raw(table))


def test_empty_table() -> None:
    outcome = VALIDATOR.split(raw(green_rows(0)))
    assert outcome.n_valid == 0 and outcome.n_quarantined == 0


def test_outputs_follow_the_pandera_schemas() -> None:
    table = green_rows(5)
    table.loc[0, "trip_distance"] = -2.0
    outcome = VALIDATOR.split(raw(table))
    build_trip_schema(month=JAN, processed=True).validate(outcome.valid)
    with pytest.raises(pa.errors.SchemaError):
        TRIP_SCHEMA.validate(outcome.quarantined.drop(columns=REASON_COLUMN))


def test_schema_is_descriptive() -> None:
    assert TRIP_SCHEMA.columns["pickup_zone"].title == "Pickup zone"
    assert "zone id" in (TRIP_SCHEMA.columns["pickup_zone"].description or "")
    assert not TRIP_SCHEMA.columns["trip_distance"].nullable
    assert TRIP_SCHEMA.columns["passenger_count"].nullable
    assert {c.name for c in TRIP_SCHEMA.checks} == {"dropoff_after_pickup", "duration_minutes_within"}
    assert len(TRIP_SCHEMA.columns["trip_distance"].checks) == 2
    assert DURATION_COLUMN in PROCESSED_TRIP_SCHEMA.columns
    # Serialisable for later JSON Schema / YAML exports: ranges and enums survive.
    exported = build_trip_schema(month=JAN).to_yaml()
    assert "max_value: 100.0" in exported and "error: implausible_distance" in exported
    assert "error: pickup_outside_month" in exported
    assert "Pickup zone" in exported
    assert "duration_minutes_within" in exported and "max_minutes: 60.0" in exported


def test_schema_and_validator_agree_on_every_row() -> None:
    """The Pandera schema and the validator's masks flag exactly the same rows."""
    table = green_rows(9)
    table["trip_distance"] = [1.0, -1.0, 150.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    table["PULocationID"] = [74, 74, 74, 0, 74, 74, 74, 74, 74]
    table["DOLocationID"] = [75, 75, 75, 75, 999, 75, 75, 75, 75]
    pickups = table["lpep_pickup_datetime"].tolist()
    pickups[5] = pd.Timestamp("2021-02-01 00:00:00")
    table["lpep_pickup_datetime"] = pd.Series(pickups).astype("datetime64[us]")
    dropoffs = (table["lpep_pickup_datetime"] + pd.Timedelta(minutes=10)).tolist()
    dropoffs[6] = pickups[6] - pd.Timedelta(minutes=1)
    dropoffs[7] = pickups[7] + pd.Timedelta(minutes=90)
    table["lpep_dropoff_datetime"] = pd.Series(dropoffs).astype("datetime64[us]")
    outcome = VALIDATOR.split(raw(table))
    assert outcome.n_valid == 2
    canonical = conform(table, service="green")
    with pytest.raises(pa.errors.SchemaErrors) as info:
        build_trip_schema(month=JAN).validate(canonical, lazy=True)
    flagged = set(info.value.failure_cases["index"].dropna().astype(int))
    assert flagged == {1, 2, 3, 4, 5, 6, 7}


# Garbage of every kind in every column, including raw TLC names and type chaos.
_GARBAGE = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
)
_COLUMNS = [
    "lpep_pickup_datetime",
    "lpep_dropoff_datetime",
    "PULocationID",
    "DOLocationID",
    "trip_distance",
    "passenger_count",
    "RatecodeID",
    "store_and_fwd_flag",
    "fare_amount",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hpd.data_frames(columns=[hpd.column(name, elements=_GARBAGE, dtype=object) for name in _COLUMNS]))
def test_every_row_is_accounted_for_on_garbage(table: pd.DataFrame) -> None:
    outcome = VALIDATOR.split(raw(table))
    assert outcome.n_valid + outcome.n_quarantined == len(table)
    assert outcome.quarantined[REASON_COLUMN].notna().all()
    assert (outcome.quarantined[REASON_COLUMN] != "").all()
    assert sum(outcome.reasons.values()) >= outcome.n_quarantined
    if outcome.n_valid:
        assert outcome.valid[DURATION_COLUMN].between(1, 60).all()


@settings(max_examples=40, deadline=None)
@given(
    distances=st.lists(st.floats(-10, 1e6, allow_nan=False), min_size=1, max_size=30),
    minutes=st.lists(st.floats(-100, 2000, allow_nan=False), min_size=30, max_size=30),
    zones=st.lists(st.integers(-5, 300), min_size=30, max_size=30),
)
def test_valid_rows_are_exactly_the_plausible_ones(
    distances: list[float], minutes: list[float], zones: list[int]
) -> None:
    n = len(distances)
    table = green_rows(n)
    table["trip_distance"] = distances
    table["lpep_dropoff_datetime"] = table["lpep_pickup_datetime"] + pd.to_timedelta(minutes[:n], unit="m")
    table["PULocationID"] = zones[:n]
    outcome = VALIDATOR.split(raw(table))
    assert outcome.n_valid + outcome.n_quarantined == n
    duration = (table["lpep_dropoff_datetime"] - table["lpep_pickup_datetime"]).dt.total_seconds() / 60
    expected = (
        (table["trip_distance"].between(0, 100)) & duration.between(1, 60) & table["PULocationID"].between(1, 265)
    )
    assert outcome.n_valid == int(expected.sum())

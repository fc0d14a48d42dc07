"""The vectorised batch checker decides exactly as the core's per-row trip rules, with the same reasons."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tripcast.core.domain.errors import FieldProblem
from tripcast.core.domain.trip import TripRequest, trip_problems
from tripcast.core.ports.batch_scoring import TripBatch
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.serving.batch.checks import ArrowBatchChecker
from tripcast.mlops.serving.batch.schema import CHECKED_SCHEMA, QUARANTINE_SCHEMA, REQUEST_FIELDS, REQUIRED_FIELDS

LATEST = datetime(2026, 12, 8, 4, 0)
T = datetime(2021, 1, 5, 8, 30)


def reference(table: pa.Table, first_row: int = 0) -> tuple[list[int], list[tuple[int, str]], dict[str, int]]:
    """The per-row algorithm batch scoring used before it was vectorised (kept here as the oracle)."""
    n = table.num_rows
    columns = {
        name: table.column(name).to_pylist() if name in table.column_names else [None] * n for name in REQUEST_FIELDS
    }
    missing = [name for name in REQUIRED_FIELDS if name not in table.column_names]
    valid, refused, counts = [], [], {}
    for i in range(n):
        row = {}
        for name, values in columns.items():
            value = values[i]
            if isinstance(value, float) and not math.isnan(value) and value.is_integer() and abs(value) < 2**31:
                value = int(value)
            row[name] = value
        if isinstance(row["pickup_datetime"], datetime) and row["pickup_datetime"].tzinfo is not None:
            row["pickup_datetime"] = row["pickup_datetime"].replace(tzinfo=None)
        problems = trip_problems(**row, latest_pickup=LATEST)
        if not problems:
            valid.append(first_row + i)
            continue
        if missing:
            problems = [FieldProblem(name, "column missing from the input file") for name in missing]
        for problem in problems:
            counts[problem.field] = counts.get(problem.field, 0) + 1
        refused.append((first_row + i, "; ".join(str(p) for p in problems)))
    return valid, refused, counts


def check(table: pa.Table, first_row: int = 0) -> Any:
    batch = TripBatch("f.parquet", first_row, table.num_rows, table)
    return ArrowBatchChecker(latest_pickup=lambda: LATEST).check(batch)


def assert_same_as_reference(table: pa.Table, first_row: int = 0) -> Any:
    checked = check(table, first_row)
    valid, refused, counts = reference(table, first_row)
    assert checked.valid.schema.equals(CHECKED_SCHEMA) and checked.refused.schema.equals(QUARANTINE_SCHEMA)
    assert checked.valid.column("source_row").to_pylist() == valid
    got = checked.refused.to_pydict()
    assert list(zip(got["source_row"], got["quarantine_reason"], strict=True)) == refused
    assert checked.reasons == counts
    assert (checked.valid_rows, checked.refused_rows) == (len(valid), len(refused))
    return checked


def test_typed_columns_with_every_kind_of_bad_value() -> None:
    n = 12
    table = pa.table(
        {
            "pickup_datetime": pa.array(
                [T, None, datetime(2008, 12, 31, 23, 59), datetime(2009, 1, 1), LATEST, LATEST + timedelta(seconds=1)]
                + [T] * 6,
                pa.timestamp("us"),
            ),
            "pickup_zone": pa.array([74, 74, 74, 74, 74, 74, 0, 265, 266, None, 1, 74], pa.int64()),
            "dropoff_zone": pa.array([75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 74.5, math.nan]),
            "trip_distance": [1.5, 2.0, 2.0, 0.0, 100.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "vendor_id": pa.array([1, None, 2, 0, 1, 1, 1, 1, 1, 1, 1, -3], pa.int64()),
            "passenger_count": [1.0, None, 9.0, 10.0, 0.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    assert table.num_rows == n
    checked = assert_same_as_reference(table, first_row=100)
    assert 0 < checked.valid_rows < n
    assert checked.valid.column("pickup_zone").to_pylist()[0] == 74


def test_distances_nan_infinite_negative_and_implausible() -> None:
    distances = [1.0, math.nan, math.inf, -math.inf, -0.1, 100.0, 100.01, 244_000.0, None, 0.0]
    table = pa.table(
        {
            "pickup_datetime": pa.array([T] * len(distances), pa.timestamp("us")),
            "pickup_zone": [74] * len(distances),
            "dropoff_zone": [75] * len(distances),
            "trip_distance": distances,
        }
    )
    checked = assert_same_as_reference(table)
    assert checked.valid.column("source_row").to_pylist() == [0, 5, 9]


def test_timezone_aware_and_nanosecond_pickups_are_wall_clock_times() -> None:
    aware = pa.array([datetime(2021, 1, 5, 13, 30, tzinfo=UTC)] * 2, pa.timestamp("ns", tz="America/New_York"))
    table = pa.table(
        {"pickup_datetime": aware, "pickup_zone": [74, 74], "dropoff_zone": [75, 75], "trip_distance": [1.0, -1.0]}
    )
    checked = assert_same_as_reference(table)
    assert checked.valid.column("pickup_datetime").to_pylist() == [datetime(2021, 1, 5, 8, 30)]


def test_string_and_boolean_columns_are_refused_with_the_core_reasons() -> None:
    table = pa.table(
        {
            "pickup_datetime": ["2021-01-05 08:30:00", None],
            "pickup_zone": [True, False],
            "dropoff_zone": ["75", "x"],
            "trip_distance": pa.array([True, False]),
            "vendor_id": ["1", None],
        }
    )
    checked = assert_same_as_reference(table)
    assert checked.valid_rows == 0


def test_a_missing_required_column_refuses_every_row_naming_the_column() -> None:
    table = pa.table(
        {"pickup_datetime": pa.array([T, T], pa.timestamp("us")), "pickup_zone": [74, 74], "trip_distance": [1.0, 2.0]}
    )
    checked = assert_same_as_reference(table)
    assert checked.reasons == {"dropoff_zone": 2}
    assert (
        checked.refused.column("quarantine_reason").to_pylist()
        == ["dropoff_zone: column missing from the input file"] * 2
    )


def test_an_all_null_optional_column_passes() -> None:
    table = pa.table(
        {
            "pickup_datetime": pa.array([T], pa.timestamp("us")),
            "pickup_zone": [74],
            "dropoff_zone": [75],
            "trip_distance": [1.0],
            "vendor_id": pa.nulls(1),
            "passenger_count": pa.nulls(1, pa.string()),
        }
    )
    checked = assert_same_as_reference(table)
    assert checked.valid_rows == 1 and checked.valid.column("vendor_id").to_pylist() == [None]


@pytest.mark.parametrize("seed", [0, 1])
def test_random_tables_agree_with_the_per_row_rules(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2_000
    micros = rng.integers(12 * 10**14, 19 * 10**14, n)  # 2008-01 .. 2030-03
    pickup = pa.array(micros, pa.int64()).cast(pa.timestamp("us"))
    zones = rng.integers(-5, 280, n).astype(float)
    zones[rng.random(n) < 0.05] += 0.5
    table = pa.table(
        {
            "pickup_datetime": pickup,
            "pickup_zone": pa.array(zones.astype(int), pa.int64()),
            "dropoff_zone": zones,
            "trip_distance": rng.normal(5, 60, n),
            "vendor_id": pa.array(rng.integers(-1, 4, n), mask=rng.random(n) < 0.2),
            "passenger_count": pa.array(rng.integers(-1, 12, n).astype(float), mask=rng.random(n) < 0.2),
        }
    )
    checked = assert_same_as_reference(table, first_row=7)
    assert checked.valid_rows > 200 and checked.refused_rows > 200


def test_features_for_columns_equal_the_request_features() -> None:
    table = pa.table(
        {
            "pickup_datetime": pa.array(
                [T, datetime(1999, 12, 31, 23, 59), datetime(2021, 3, 7, 0, 0)], pa.timestamp("us")
            ),
            "pickup_zone": pa.array([74, 1, 265], pa.int32()),
            "dropoff_zone": pa.array([75, 265, 265], pa.int32()),
            "trip_distance": [1.5, 0.0, 99.0],
        }
    )
    builder = TripFeatureBuilder()
    requests = [TripRequest(*row.values()) for row in table.to_pylist()]
    assert np.array_equal(builder.features_for_columns(table), builder.feature_matrix(requests))


def test_features_for_columns_take_numpy_columns_in_any_datetime_unit() -> None:
    pickups = np.array(["2021-01-04T08:30:00.123456789", "1969-12-31T23:00:00"], dtype="datetime64[ns]")
    columns = {
        "pickup_datetime": pickups,
        "pickup_zone": np.array([132, 74]),
        "dropoff_zone": np.array([236, 74]),
        "trip_distance": np.array([17.5, 0.4]),
    }
    builder = TripFeatureBuilder()
    requests = [
        TripRequest(datetime(2021, 1, 4, 8, 30, 0, 123456), 132, 236, 17.5),
        TripRequest(datetime(1969, 12, 31, 23, 0), 74, 74, 0.4),
    ]
    assert np.array_equal(builder.features_for_columns(columns), builder.feature_matrix(requests))

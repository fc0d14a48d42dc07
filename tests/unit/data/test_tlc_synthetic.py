"""Synthetic months look like real TLC files and carry a learnable structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.synthetic import (
    GREEN_RAW_SCHEMA,
    YELLOW_RAW_SCHEMA,
    generate_trips,
    speed_mph,
    write_synthetic_month,
)
from tripcast.data_engineering.tlc.validation import PanderaTripValidator, ValidationOutcome

MONTH = Month(2021, 1)


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_month(tmp_path_factory.mktemp("raw"), MONTH, 30_000, seed=3)


@pytest.fixture(scope="module")
def outcome(synthetic_file: Path) -> ValidationOutcome:
    return PanderaTripValidator().split(RawDataset(read_tlc_file(synthetic_file), MONTH, str(synthetic_file)))


def test_written_file_has_the_raw_green_schema(synthetic_file: Path) -> None:
    assert synthetic_file.name == "green_tripdata_2021-01.parquet"
    assert pq.read_schema(synthetic_file).remove_metadata().equals(GREEN_RAW_SCHEMA)
    assert pq.read_metadata(synthetic_file).num_rows == 30_000


def test_same_schema_as_the_real_file(synthetic_file: Path, shared_data_dir: Path) -> None:
    real = pq.read_schema(shared_data_dir / "green_tripdata_2021-01.parquet").remove_metadata()
    assert pq.read_schema(synthetic_file).remove_metadata().equals(real)


def test_frame_dtypes_match_what_pandas_reads_from_the_real_file(shared_data_dir: Path) -> None:
    real = pd.read_parquet(shared_data_dir / "green_tripdata_2021-01.parquet").head(0)
    assert generate_trips(MONTH, n_rows=200).dtypes.to_dict() == real.dtypes.to_dict()


def test_seeded_and_reproducible() -> None:
    a = generate_trips(MONTH, n_rows=500, seed=7)
    pd.testing.assert_frame_equal(a, generate_trips(MONTH, n_rows=500, seed=7))
    assert not a.equals(generate_trips(MONTH, n_rows=500, seed=8))


def test_yellow_has_the_yellow_schema(tmp_path: Path) -> None:
    path = write_synthetic_month(tmp_path, MONTH, 500, seed=1, service="yellow")
    assert pq.read_schema(path).remove_metadata().equals(YELLOW_RAW_SCHEMA)
    assert set(read_tlc_file(path)["service"]) == {"yellow"}


def test_duration_correlates_with_distance(outcome: ValidationOutcome) -> None:
    valid = outcome.valid
    assert np.corrcoef(valid["trip_distance"], valid["duration_minutes"])[0, 1] > 0.6


def test_rush_hour_trips_are_slower_per_mile(outcome: ValidationOutcome) -> None:
    valid = outcome.valid[outcome.valid["trip_distance"] > 0.5]
    hour = valid["pickup_datetime"].dt.hour
    workday = valid["pickup_datetime"].dt.weekday < 5
    per_mile = valid["duration_minutes"] / valid["trip_distance"]
    rush = per_mile[workday & hour.between(7, 9)].median()
    midday = per_mile[workday & hour.between(11, 14)].median()
    night = per_mile[hour.between(0, 4)].median()
    assert rush > midday * 1.2 > night * 1.2


def test_speed_profile() -> None:
    assert speed_mph(np.array([8]), np.array([1]))[0] < speed_mph(np.array([8]), np.array([6]))[0]
    assert speed_mph(np.array([3]), np.array([1]))[0] > speed_mph(np.array([13]), np.array([1]))[0]


def test_validator_quarantines_a_few_percent(outcome: ValidationOutcome) -> None:
    share = outcome.n_quarantined / (outcome.n_valid + outcome.n_quarantined)
    assert 0.01 < share < 0.06
    assert outcome.reasons["pickup_outside_month"] == 3
    assert {"duration_out_of_range", "implausible_distance", "dropoff_not_after_pickup"} <= set(outcome.reasons)


def test_zone_pairs_are_skewed_and_mostly_within_borough(outcome: ValidationOutcome) -> None:
    from tripcast.data_engineering.tlc.zones import ZoneLookup

    valid = outcome.valid
    pickup_share = valid["pickup_zone"].value_counts(normalize=True)
    assert pickup_share.iloc[0] > 10 * pickup_share.median()
    borough = ZoneLookup.bundled().table["Borough"]
    same = (
        borough.reindex(valid["pickup_zone"].astype(int)).to_numpy()
        == borough.reindex(valid["dropoff_zone"].astype(int)).to_numpy()
    )
    assert same.mean() > 0.7
    assert (valid["pickup_zone"] == valid["dropoff_zone"]).mean() < 0.3


def test_dispatch_rows_carry_the_null_block_like_real_green_files() -> None:
    frame = generate_trips(MONTH, n_rows=4_000, seed=2)
    nulls = frame["RatecodeID"].isna()
    assert 0.4 < nulls.mean() < 0.55
    for column in ("store_and_fwd_flag", "passenger_count", "payment_type", "trip_type", "congestion_surcharge"):
        assert frame.loc[nulls, column].isna().all() and frame.loc[~nulls, column].notna().all()
    assert frame["ehail_fee"].isna().all()

"""Canonical trip frames built from plain dicts, as fixtures for every data-engineering test tier."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from tripcast.data_engineering.tlc.casting import conform
from tripcast.data_engineering.tlc.files import read_tlc_file


def make_trips(rows: list[dict]) -> pd.DataFrame:
    """Canonical trips from dicts giving at least pickup/dropoff times and zones; other fields defaulted."""
    defaults = {"VendorID": 2, "trip_distance": 2.0, "fare_amount": 10.0, "total_amount": 12.0, "passenger_count": 1}
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    return conform(frame, service="green")


def trip(pu: int, do: int, start: str, end: str, miles: float = 2.0) -> dict:
    """One raw trip row (TLC column names)."""
    return {
        "PULocationID": pu,
        "DOLocationID": do,
        "lpep_pickup_datetime": datetime.fromisoformat(start),
        "lpep_dropoff_datetime": datetime.fromisoformat(end),
        "trip_distance": miles,
    }


@pytest.fixture(scope="session")
def january_canonical(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real green 2021-01 month in the canonical schema, as a parquet file."""
    path = tmp_path_factory.mktemp("canonical") / "green_2021-01.parquet"
    read_tlc_file(shared_data_dir / "green_tripdata_2021-01.parquet").to_parquet(path, index=False)
    return path


@pytest.fixture()
def build_trips():
    """``build_trips([trip(...), ...])`` -> canonical frame (a fixture: test dirs are not packages)."""
    return make_trips


@pytest.fixture()
def raw_trip():
    """``raw_trip(pu, do, start_iso, end_iso, miles)`` -> one raw TLC row."""
    return trip

"""Builders of small TLC-shaped tables for the TLC unit tests (imported by module name: tests have no packages)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset

JAN = Month(2021, 1)


def green_rows(n: int = 3, start: datetime = datetime(2021, 1, 5, 8, 0)) -> pd.DataFrame:
    """``n`` plausible green trips in raw TLC column names and 2021 types."""
    pickups = [start + timedelta(minutes=7 * i) for i in range(n)]
    return pd.DataFrame(
        {
            "VendorID": pd.Series([2] * n, dtype="int64"),
            "lpep_pickup_datetime": pd.Series(pickups).astype("datetime64[us]"),
            "lpep_dropoff_datetime": pd.Series([p + timedelta(minutes=12) for p in pickups]).astype("datetime64[us]"),
            "store_and_fwd_flag": ["N"] * n,
            "RatecodeID": [1.0] * n,
            "PULocationID": pd.Series([74] * n, dtype="int64"),
            "DOLocationID": pd.Series([75] * n, dtype="int64"),
            "passenger_count": [1.0] * n,
            "trip_distance": [2.5] * n,
            "fare_amount": [11.0] * n,
            "extra": [0.5] * n,
            "mta_tax": [0.5] * n,
            "tip_amount": [0.0] * n,
            "tolls_amount": [0.0] * n,
            "ehail_fee": [None] * n,
            "improvement_surcharge": [0.3] * n,
            "total_amount": [12.3] * n,
            "payment_type": [2.0] * n,
            "trip_type": [1.0] * n,
            "congestion_surcharge": [0.0] * n,
        }
    )


def raw(table: pd.DataFrame, month: Month = JAN) -> RawDataset:
    return RawDataset(table=table, month=month, source="test")

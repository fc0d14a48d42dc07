"""Synthetic TLC months with the real files' raw schema and a realistic structure, for offline demos and tests.

The generated frame has exactly the raw columns and types of TLC's green (or
yellow) parquet files, so it flows through :func:`read_tlc_file` and validation
like a downloaded month. Structure, so that models have something to learn:

* zone geography: every zone gets a fixed position near its borough's centre
  (the same for every month and seed), so a zone pair has a stable base distance;
* pickup zones follow a Zipf-like popularity; dropoffs stay mostly within the
  borough and decay with distance;
* duration = distance / speed(hour, weekday) plus a fixed overhead and noise,
  with rush-hour slowdowns and fast nights;
* about 3% of rows are implausible like real data: zero and absurd distances,
  meters left running, dropoffs before pickups, pickups outside the month; and
  about 47% of green rows are dispatch records with TLC's block of nulls.
"""

from __future__ import annotations

import calendar
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.files import tlc_file_name
from tripcast.data_engineering.tlc.zones import ZoneLookup

_TS = pa.timestamp("us")
#: Column names and arrow types of TLC's green parquet files (2021, as in the shared real data).
GREEN_RAW_SCHEMA = pa.schema(
    [
        ("VendorID", pa.int64()),
        ("lpep_pickup_datetime", _TS),
        ("lpep_dropoff_datetime", _TS),
        ("store_and_fwd_flag", pa.string()),
        ("RatecodeID", pa.float64()),
        ("PULocationID", pa.int64()),
        ("DOLocationID", pa.int64()),
        ("passenger_count", pa.float64()),
        ("trip_distance", pa.float64()),
        ("fare_amount", pa.float64()),
        ("extra", pa.float64()),
        ("mta_tax", pa.float64()),
        ("tip_amount", pa.float64()),
        ("tolls_amount", pa.float64()),
        ("ehail_fee", pa.null()),
        ("improvement_surcharge", pa.float64()),
        ("total_amount", pa.float64()),
        ("payment_type", pa.float64()),
        ("trip_type", pa.float64()),
        ("congestion_surcharge", pa.float64()),
    ]
)
#: Column names and arrow types of TLC's yellow parquet files (2021).
YELLOW_RAW_SCHEMA = pa.schema(
    [
        ("VendorID", pa.int64()),
        ("tpep_pickup_datetime", _TS),
        ("tpep_dropoff_datetime", _TS),
        ("passenger_count", pa.float64()),
        ("trip_distance", pa.float64()),
        ("RatecodeID", pa.float64()),
        ("store_and_fwd_flag", pa.string()),
        ("PULocationID", pa.int64()),
        ("DOLocationID", pa.int64()),
        ("payment_type", pa.int64()),
        ("fare_amount", pa.float64()),
        ("extra", pa.float64()),
        ("mta_tax", pa.float64()),
        ("tip_amount", pa.float64()),
        ("tolls_amount", pa.float64()),
        ("improvement_surcharge", pa.float64()),
        ("total_amount", pa.float64()),
        ("congestion_surcharge", pa.float64()),
        ("airport_fee", pa.float64()),
    ]
)
RAW_SCHEMAS = {"green": GREEN_RAW_SCHEMA, "yellow": YELLOW_RAW_SCHEMA}

#: Fixed seed of the zone geography and popularity, so that every month shares one city.
_CITY_SEED = 20_210_101
#: Rough borough centres and spreads, miles, on a plane centred on Midtown.
_BOROUGHS = {
    "Manhattan": ((0.0, 0.0), (1.2, 4.0)),
    "Bronx": ((3.0, 9.0), (2.5, 2.0)),
    "Brooklyn": ((2.0, -6.0), (3.0, 3.0)),
    "Queens": ((8.0, -1.0), (4.0, 3.5)),
    "Staten Island": ((-6.0, -10.0), (2.5, 2.5)),
    "EWR": ((-9.0, -4.0), (0.1, 0.1)),
}
#: Green cabs may not pick up in Midtown/Downtown, so outer boroughs dominate; yellow is the opposite.
_BOROUGH_WEIGHT = {
    "green": {"Manhattan": 0.6, "Bronx": 1.0, "Brooklyn": 1.0, "Queens": 1.0, "Staten Island": 0.1, "EWR": 0.02},
    "yellow": {"Manhattan": 3.0, "Bronx": 0.2, "Brooklyn": 0.4, "Queens": 0.6, "Staten Island": 0.02, "EWR": 0.05},
}
_WITHIN_BOROUGH = 0.75
_ROAD_FACTOR = 1.35
_SAME_ZONE_MILES = 0.8
#: Pickups per hour of day (relative), quiet before dawn, peaks at the commutes.
_HOURLY = np.array([3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 5.5, 5, 5, 5.5, 5.5, 6, 6.5, 7, 7, 6.5, 5.5, 5, 4.5, 4, 3.5])
_DISPATCH_SHARE = 0.47

# Shares of implausible rows, close to the real 2021 green files.
_ZERO_DISTANCE = 0.015
_HUGE_DISTANCE = 0.001
_METER_LEFT_ON = 0.015
_TOO_SHORT = 0.008
_DROPOFF_FIRST = 0.001


def speed_mph(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Typical cab speed by hour of day and weekday (Monday=0): slow commutes, fast nights."""
    hour = np.asarray(hour)
    weekday = np.asarray(weekday)
    workday = weekday < 5
    speed = np.full(hour.shape, 12.0)
    speed = np.where((hour >= 20) | (hour <= 5), 18.0, speed)
    speed = np.where(hour <= 4, 21.0, speed)
    speed = np.where(workday & (hour >= 7) & (hour <= 9), 8.0, speed)
    speed = np.where(workday & (hour >= 16) & (hour <= 19), 8.5, speed)
    return np.where(~workday & (hour >= 10) & (hour <= 19), 13.5, speed)


@lru_cache(maxsize=2)
def _city(service: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone ids, pickup weights, dropoff probabilities given pickup, and base pair distances (miles)."""
    lookup = ZoneLookup.bundled().table
    lookup = lookup[lookup["Borough"].isin(list(_BOROUGHS))]
    ids = lookup.index.to_numpy(dtype="int64")
    boroughs = lookup["Borough"].to_numpy()
    rng = np.random.default_rng(_CITY_SEED)
    centre = np.array([_BOROUGHS[b][0] for b in boroughs])
    spread = np.array([_BOROUGHS[b][1] for b in boroughs])
    position = centre + rng.normal(size=centre.shape) * spread * 0.6
    gaps = np.linalg.norm(position[:, None, :] - position[None, :, :], axis=2)
    distance = np.where(gaps > 0, gaps * _ROAD_FACTOR + 0.4, _SAME_ZONE_MILES)
    rank = rng.permutation(len(ids)) + 1
    popularity = (1.0 / rank**0.8) * np.array([_BOROUGH_WEIGHT[service][b] for b in boroughs])
    same_borough = boroughs[:, None] == boroughs[None, :]
    # Short hops inside one zone exist but are rarer than the distance decay alone would make them.
    within = popularity[None, :] * np.exp(-distance / 2.5) * same_borough * np.where(gaps > 0, 1.0, 0.3)
    across = popularity[None, :] * np.exp(-distance / 4.0)
    dropoff = _WITHIN_BOROUGH * within / within.sum(axis=1, keepdims=True)
    dropoff += (1 - _WITHIN_BOROUGH) * across / across.sum(axis=1, keepdims=True)
    return ids, popularity / popularity.sum(), dropoff, distance


def generate_trips(month: Month, n_rows: int = 20_000, seed: int = 0, service: str = "green") -> pd.DataFrame:
    """``n_rows`` synthetic trips of ``month`` with the raw TLC columns and types of ``service``'s files."""
    if service not in RAW_SCHEMAS:
        raise ValueError(f"service must be one of {sorted(RAW_SCHEMAS)}, got {service!r}")
    rng = np.random.default_rng([seed, month.year, month.month])
    ids, pickup_weights, dropoff_given_pickup, pair_miles = _city(service)
    n = n_rows

    pu_index = rng.choice(len(ids), size=n, p=pickup_weights)
    do_index = np.empty(n, dtype="int64")
    for zone in np.unique(pu_index):
        rows = np.flatnonzero(pu_index == zone)
        do_index[rows] = rng.choice(len(ids), size=len(rows), p=dropoff_given_pickup[zone])

    pickup = _pickup_times(rng, month, n)
    hour = pickup.hour.to_numpy()
    weekday = pickup.weekday.to_numpy()
    distance = pair_miles[pu_index, do_index] * rng.lognormal(0.0, 0.18, n)
    # Longer trips use highways, so their average speed is higher than the street speed of the hour.
    highway = 1.0 + 0.6 * np.minimum(distance / 8.0, 2.0)
    minutes = 2.0 + distance / (speed_mph(hour, weekday) * highway) * 60.0 * rng.lognormal(0.0, 0.2, n)

    distance, minutes = _inject_implausible(rng, distance, minutes)
    dispatch = rng.random(n) < (_DISPATCH_SHARE if service == "green" else 0.0)
    # Dispatch records carry minute-rounded times in TLC's files.
    pickup = pickup.where(~dispatch, pickup.floor("min"))
    pickup = _stray_pickups(pickup, month, n)
    dropoff = (pickup + pd.to_timedelta(np.round(minutes * 60.0), unit="s")).as_unit("us")

    frame = _fill_columns(rng, service, pickup, dropoff, ids[pu_index], ids[do_index], distance, minutes, dispatch)
    frame = frame.sort_values(pickup_column(service), kind="stable").reset_index(drop=True)
    return frame[RAW_SCHEMAS[service].names]


def pickup_column(service: str) -> str:
    """``lpep_pickup_datetime`` (green) or ``tpep_pickup_datetime`` (yellow)."""
    return ("lpep" if service == "green" else "tpep") + "_pickup_datetime"


def _pickup_times(rng: np.random.Generator, month: Month, n: int) -> pd.DatetimeIndex:
    days = calendar.monthrange(month.year, month.month)[1]
    day = rng.integers(0, days, n)
    hour = rng.choice(24, size=n, p=_HOURLY / _HOURLY.sum())
    seconds = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, n)
    return pd.DatetimeIndex(pd.Timestamp(month.start) + pd.to_timedelta(seconds, unit="s")).as_unit("us")


def _inject_implausible(
    rng: np.random.Generator, distance: np.ndarray, minutes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Overwrite a few % of rows with the faults real TLC files show."""
    distance = distance.copy()
    minutes = minutes.copy()
    fault = rng.random(len(distance))
    edges = np.cumsum([_ZERO_DISTANCE, _HUGE_DISTANCE, _METER_LEFT_ON, _TOO_SHORT, _DROPOFF_FIRST])
    zero = fault < edges[0]
    huge = (fault >= edges[0]) & (fault < edges[1])
    left_on = (fault >= edges[1]) & (fault < edges[2])
    short = (fault >= edges[2]) & (fault < edges[3])
    backwards = (fault >= edges[3]) & (fault < edges[4])
    distance[zero] = 0.0
    distance[huge] = np.exp(rng.uniform(np.log(150.0), np.log(250_000.0), huge.sum()))
    minutes[left_on] = rng.uniform(61.0, 1_400.0, left_on.sum())
    minutes[short] = rng.uniform(0.05, 0.95, short.sum())
    distance[short] = rng.uniform(0.0, 0.1, short.sum())
    minutes[backwards] = -rng.uniform(0.0, 30.0, backwards.sum())
    return distance, minutes


def _stray_pickups(pickup: pd.DatetimeIndex, month: Month, n: int) -> pd.DatetimeIndex:
    """Like real files, a handful of pickups fall outside the month (meter clock reset to 2009, neighbours)."""
    if n < 100:
        return pickup
    values = pickup.to_numpy().copy()
    strays = [
        pd.Timestamp("2009-01-01 00:00:00"),
        pd.Timestamp(month.start) - pd.Timedelta(minutes=7),
        pd.Timestamp(month.end) + pd.Timedelta(minutes=3),
    ]
    for position, moment in zip((n // 7, n // 3, n // 2), strays, strict=True):
        values[position] = moment.to_datetime64().astype("datetime64[us]")
    return pd.DatetimeIndex(values).as_unit("us")


def _fill_columns(
    rng: np.random.Generator,
    service: str,
    pickup: pd.DatetimeIndex,
    dropoff: pd.DatetimeIndex,
    pu: np.ndarray,
    do: np.ndarray,
    distance: np.ndarray,
    minutes: np.ndarray,
    dispatch: np.ndarray,
) -> pd.DataFrame:
    n = len(pu)
    hour = pickup.hour.to_numpy()
    workday = pickup.weekday.to_numpy() < 5
    vendor = np.where(dispatch | (rng.random(n) < 0.82), 2, 1).astype("int64")
    fare = np.round(2.5 + 2.5 * np.minimum(distance, 200.0) + 0.5 * np.clip(minutes, 0.0, 120.0), 2)
    extra = np.where((hour >= 20) | (hour < 6), 0.5, np.where(workday & (hour >= 16) & (hour < 20), 1.0, 0.0))
    extra = np.where(dispatch, 0.0, extra)
    mta_tax = np.where(dispatch, 0.0, 0.5)
    payment = rng.choice([1.0, 2.0, 3.0, 4.0], size=n, p=[0.6, 0.38, 0.015, 0.005])
    tip = np.where(payment == 1.0, np.round(fare * rng.uniform(0.1, 0.25, n), 2), 0.0)
    tip = np.where(dispatch, np.round(rng.choice([0.0, 2.75], size=n, p=[0.6, 0.4]), 2), tip)
    tolls = np.where(rng.random(n) < 0.05, 6.12, 0.0)
    improvement = np.full(n, 0.3)
    zones = ZoneLookup.bundled().table
    manhattan = np.isin(do, zones.index[zones["Borough"] == "Manhattan"])
    congestion = np.where(manhattan, 2.75, 0.0)
    airport_fee = np.where(np.isin(pu, [132, 138]), 1.25, 0.0)
    total = np.round(fare + extra + mta_tax + tip + tolls + improvement + congestion, 2)
    passengers = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0], size=n, p=[0.86, 0.07, 0.01, 0.005, 0.03, 0.02, 0.005])
    flag = np.where(rng.random(n) < 0.007, "Y", "N").astype(object)
    ratecode = np.where(rng.random(n) < 0.03, 5.0, 1.0)
    trip_type = np.where(ratecode == 5.0, 2.0, 1.0)
    columns: dict[str, object] = {
        "VendorID": vendor,
        pickup_column(service): pickup,
        pickup_column(service).replace("pickup", "dropoff"): dropoff,
        "store_and_fwd_flag": _null_where(flag, dispatch),
        "RatecodeID": _null_where(ratecode, dispatch),
        "PULocationID": pu.astype("int64"),
        "DOLocationID": do.astype("int64"),
        "passenger_count": _null_where(passengers, dispatch),
        "trip_distance": np.round(distance, 2),
        "fare_amount": fare,
        "extra": extra,
        "mta_tax": mta_tax,
        "tip_amount": tip,
        "tolls_amount": tolls,
        "improvement_surcharge": improvement,
        "total_amount": total,
        "payment_type": _null_where(payment, dispatch),
        "congestion_surcharge": _null_where(congestion, dispatch),
    }
    if service == "green":
        columns["ehail_fee"] = np.full(n, None, dtype=object)
        columns["trip_type"] = _null_where(trip_type, dispatch)
    else:
        columns["payment_type"] = payment.astype("int64")
        columns["airport_fee"] = airport_fee
    return pd.DataFrame(columns)


def _null_where(values: np.ndarray, null: np.ndarray) -> np.ndarray:
    if values.dtype == object:
        out = values.copy()
        out[null] = None
        return out
    return np.where(null, np.nan, values)


def write_synthetic_month(
    dest_dir: Path, month: Month, n_rows: int = 20_000, seed: int = 0, service: str = "green"
) -> Path:
    """Write ``{service}_tripdata_{month}.parquet`` into ``dest_dir`` (atomically) and return its path."""
    frame = generate_trips(month, n_rows=n_rows, seed=seed, service=service)
    table = pa.Table.from_pandas(frame, schema=RAW_SCHEMAS[service], preserve_index=False)
    dest = Path(dest_dir) / tlc_file_name(service, month)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(handle)
    try:
        pq.write_table(table, tmp_name)
        os.replace(tmp_name, dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return dest

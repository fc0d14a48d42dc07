"""Anomaly detection on daily series with the robust z-score (median and MAD, not mean and std).

``z = 0.6745 * (x - median) / MAD``; the 0.6745 factor makes the MAD comparable to a
standard deviation for normal data. Days with ``|z|`` above the threshold (3.5, after
Iglewicz and Hoaglin) are flagged. Median and MAD barely move when a few days are
extreme, so one bad day cannot hide itself by inflating the spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tripcast.data_engineering.tlc.schema import DURATION_COLUMN

DEFAULT_THRESHOLD = 3.5
#: Per-column daily statistics watched for anomalies: (label, column, aggregation).
DAILY_STATISTICS: tuple[tuple[str, str, str], ...] = (
    ("mean_trip_distance", "trip_distance", "mean"),
    ("median_duration_minutes", DURATION_COLUMN, "median"),
    ("mean_fare_amount", "fare_amount", "mean"),
    ("mean_total_amount", "total_amount", "mean"),
    ("null_rate_passenger_count", "passenger_count", "null_rate"),
)


@dataclass(frozen=True)
class Anomaly:
    """A day whose value of ``series`` deviates from the rest."""

    series: str
    day: str
    value: float
    robust_z: float


#: Weekday-adjusted volumes are ratios near 1; with only 4-5 days per weekday the MAD of those
#: ratios underestimates the normal day-to-day wobble, so it is floored at 2 %.
WEEKLY_MIN_MAD = 0.02


def robust_z_scores(values: pd.Series, min_mad: float = 0.0) -> pd.Series:
    """Robust z-score of each value; zeros when the MAD is zero (a constant series has no outliers)."""
    median = values.median()
    mad = max((values - median).abs().median(), min_mad)
    if not np.isfinite(mad) or mad == 0:
        return pd.Series(0.0, index=values.index)
    return 0.6745 * (values - median) / mad


def weekday_adjusted(series: pd.Series) -> pd.Series:
    """Each day divided by the median of its weekday: taxi volume has a strong weekly cycle
    (Sundays run ~30 % below Wednesdays) that is normal and must not be flagged."""
    days = pd.DatetimeIndex(series.index)
    weekday_median = series.groupby(days.dayofweek).transform("median")
    return series / weekday_median.replace(0, np.nan)


def flag_anomalies(
    series: pd.Series, name: str, threshold: float = DEFAULT_THRESHOLD, *, weekly: bool = False
) -> list[Anomaly]:
    """Days of ``series`` (indexed by day) with ``|robust z| > threshold``.

    ``weekly`` removes the weekday cycle first.
    """
    clean = series.dropna()
    if len(clean) < 5:  # too few days for a meaningful median and MAD
        return []
    if weekly:
        scores = robust_z_scores(weekday_adjusted(clean.astype(float)).dropna(), WEEKLY_MIN_MAD)
    else:
        scores = robust_z_scores(clean.astype(float))
    flagged = scores[scores.abs() > threshold]
    return [
        Anomaly(name, str(pd.Timestamp(str(day)).date()), float(value), round(float(z), 2))
        for day, value, z in zip(flagged.index, clean.loc[flagged.index], flagged, strict=True)
    ]


def daily_series(trips: pd.DataFrame) -> dict[str, pd.Series]:
    """Daily volume plus the per-column daily statistics of valid trips, by pickup day."""
    day = trips["pickup_datetime"].dt.floor("D")
    grouped = trips.groupby(day)
    series: dict[str, pd.Series] = {"daily_volume": grouped.size().astype(float)}
    for label, column, how in DAILY_STATISTICS:
        if column not in trips.columns:
            continue
        if how == "null_rate":
            series[label] = trips[column].isna().groupby(day).mean()
        else:
            series[label] = grouped[column].agg(how).astype(float)
    return series


def detect_daily_anomalies(trips: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> list[Anomaly]:
    """Every flagged day of every daily series."""
    return anomalies_in(daily_series(trips), threshold)


def anomalies_in(series: dict[str, pd.Series], threshold: float = DEFAULT_THRESHOLD) -> list[Anomaly]:
    """Every flagged day of every daily series given (volume is judged against its weekday)."""
    return [
        anomaly
        for name, values in series.items()
        for anomaly in flag_anomalies(values, name, threshold, weekly=name == "daily_volume")
    ]

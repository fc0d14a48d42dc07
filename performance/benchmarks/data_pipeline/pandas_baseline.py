"""The same pipeline in plain pandas: the baseline the Ibis engines are compared with.

Rules, features, enrichment and both point-in-time aggregates match
:mod:`tripcast.data_engineering.transformation` (the benchmark checks row counts agree). Like the
engines' benchmark plan, it writes rows in whatever order they come (``groupby(sort=False)``):
sorting the outputs is work neither side is asked to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tripcast.core.domain.trip import MAX_DURATION_MINUTES, MAX_PLAUSIBLE_DISTANCE_MILES, MIN_DURATION_MINUTES
from tripcast.data_engineering.tlc.schema import REQUIRED_COLUMNS
from tripcast.data_engineering.transformation.enrichment import zone_frame


def run_pandas(input_path: Path, out_dir: Path, window_days: int = 7) -> dict[str, int]:
    """Read, split, featurise, enrich, aggregate and write; return output row counts."""
    trips = pd.read_parquet(input_path)
    zones = zone_frame()
    zone_ids = set(zones.zone_id.tolist())
    duration = (trips.dropoff_datetime - trips.pickup_datetime).dt.total_seconds() / 60.0
    rules = {
        "missing_required_field": trips[list(REQUIRED_COLUMNS)].isna().any(axis=1),
        "dropoff_not_after_pickup": trips.dropoff_datetime <= trips.pickup_datetime,
        "duration_out_of_range": (duration > 0)
        & ((duration < MIN_DURATION_MINUTES) | (duration > MAX_DURATION_MINUTES)),
        "negative_distance": trips.trip_distance < 0,
        "implausible_distance": trips.trip_distance > MAX_PLAUSIBLE_DISTANCE_MILES,
        "unknown_pickup_zone": trips.pickup_zone.notna() & ~trips.pickup_zone.isin(zone_ids),
        "unknown_dropoff_zone": trips.dropoff_zone.notna() & ~trips.dropoff_zone.isin(zone_ids),
    }
    bad = np.zeros(len(trips), dtype=bool)
    for mask in rules.values():
        bad |= mask.fillna(False).to_numpy(dtype=bool)
    quarantine = trips[bad].copy()
    reason = pd.Series("", index=quarantine.index)
    for name, mask in rules.items():
        hit = mask[bad].fillna(False).to_numpy(dtype=bool)
        reason[hit] = np.where(reason[hit] == "", name, reason[hit] + "; " + name)
    quarantine["quarantine_reason"] = reason
    clean = trips[~bad].copy()
    clean["duration_minutes"] = duration[~bad]
    pickup = clean.pickup_datetime
    clean["pickup_date"] = pickup.dt.normalize()
    clean["pickup_hour"] = pickup.dt.hour.astype("int32")
    clean["pickup_day_of_week"] = pickup.dt.dayofweek.astype("int32")
    clean["pickup_month"] = pickup.dt.month.astype("int32")
    clean["is_weekend"] = clean.pickup_day_of_week >= 5
    hours = clean.duration_minutes / 60.0
    clean["avg_speed_mph"] = (clean.trip_distance / hours).where(hours > 0)
    for end in ("pickup", "dropoff"):
        attrs = zones.rename(
            columns={
                "zone_id": f"{end}_zone",
                "borough": f"{end}_borough",
                "zone_name": f"{end}_zone_name",
                "service_zone": f"{end}_service_zone",
            }
        )
        attrs[f"{end}_zone"] = attrs[f"{end}_zone"].astype("Int32")
        clean = clean.merge(attrs, on=f"{end}_zone", how="left")

    hourly = clean.assign(feature_timestamp=clean.dropoff_datetime.dt.floor("h") + pd.Timedelta(hours=1))
    zone_hour = (
        hourly.groupby(["pickup_zone", "feature_timestamp"], observed=True, sort=False)
        .agg(
            zone_trips_1h=("duration_minutes", "size"),
            zone_median_duration_1h=("duration_minutes", "median"),
            zone_mean_speed_1h=("avg_speed_mph", "mean"),
        )
        .reset_index()
    )
    ended = clean[["pickup_zone", "dropoff_zone", "duration_minutes"]].assign(
        ended_day=clean.dropoff_datetime.dt.floor("D")
    )
    fanned = pd.concat(
        [ended.assign(feature_timestamp=ended.ended_day + pd.Timedelta(days=k)) for k in range(1, window_days + 1)],
        ignore_index=True,
    )
    zone_pair = (
        fanned.groupby(["pickup_zone", "dropoff_zone", "feature_timestamp"], observed=True, sort=False)
        .agg(pair_trips_7d=("duration_minutes", "size"), pair_median_duration_7d=("duration_minutes", "median"))
        .reset_index()
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {"trips": clean, "quarantine": quarantine, "zone_hour": zone_hour, "zone_pair": zone_pair}
    for name, frame in outputs.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in outputs.items()}

"""Feast definitions: zone-level aggregates keyed by pickup zone and by (pickup, dropoff) zone pair.

* ``zone_hour_stats`` (entity ``pickup_zone``): trips that **ended** in the hour before the
  feature timestamp: count, median duration, mean speed.
* ``zone_pair_stats`` (entities ``pickup_zone`` + ``dropoff_zone``): trips that ended in the
  7 days before the feature timestamp: count and median duration.

Feature timestamps are the end of each window, so Feast's point-in-time join (latest row
with timestamp <= the event time) only ever sees trips that had ended before the event.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

from tripcast.data_engineering.transformation.aggregates import FEATURE_TIMESTAMP
from tripcast.mlops.feature_store.offline import ZONE_HOUR_TABLE, ZONE_PAIR_TABLE, table_path

ZONE_HOUR_VIEW = "zone_hour_stats"
ZONE_PAIR_VIEW = "zone_pair_stats"

pickup_zone = Entity(
    name="pickup_zone", join_keys=["pickup_zone"], value_type=ValueType.INT64, description="TLC pickup zone id"
)
dropoff_zone = Entity(
    name="dropoff_zone", join_keys=["dropoff_zone"], value_type=ValueType.INT64, description="TLC dropoff zone id"
)

#: How long a row stays valid: Feast's point-in-time join ignores older rows, and serving treats them as missing.
ZONE_HOUR_TTL = timedelta(hours=1)  # a row describes one hour; older rows are not "the last hour"
ZONE_PAIR_TTL = timedelta(days=1)  # rows are daily

ZONE_HOUR_FEATURES = ("zone_trips_1h", "zone_median_duration_1h", "zone_mean_speed_1h")
ZONE_PAIR_FEATURES = ("pair_trips_7d", "pair_median_duration_7d")
#: Feature references in ``view:feature`` form, the order models consume them in.
FEATURE_REFS = [f"{ZONE_HOUR_VIEW}:{f}" for f in ZONE_HOUR_FEATURES] + [
    f"{ZONE_PAIR_VIEW}:{f}" for f in ZONE_PAIR_FEATURES
]


def build_definitions(offline_dir: Path) -> list[Any]:
    """Entities and feature views whose sources are the parquet tables under ``offline_dir``."""
    zone_hour_source = FileSource(
        name="zone_hour_source",
        path=str(table_path(offline_dir, ZONE_HOUR_TABLE).resolve()),
        timestamp_field=FEATURE_TIMESTAMP,
    )
    zone_pair_source = FileSource(
        name="zone_pair_source",
        path=str(table_path(offline_dir, ZONE_PAIR_TABLE).resolve()),
        timestamp_field=FEATURE_TIMESTAMP,
    )
    zone_hour = FeatureView(
        name=ZONE_HOUR_VIEW,
        entities=[pickup_zone],
        ttl=ZONE_HOUR_TTL,
        schema=[
            Field(name="zone_trips_1h", dtype=Int64),
            Field(name="zone_median_duration_1h", dtype=Float64),
            Field(name="zone_mean_speed_1h", dtype=Float64),
        ],
        source=zone_hour_source,
        online=True,
        tags={"owner": "ml-platform", "window": "1h"},
    )
    zone_pair = FeatureView(
        name=ZONE_PAIR_VIEW,
        entities=[pickup_zone, dropoff_zone],
        ttl=ZONE_PAIR_TTL,
        schema=[
            Field(name="pair_trips_7d", dtype=Int64),
            Field(name="pair_median_duration_7d", dtype=Float64),
        ],
        source=zone_pair_source,
        online=True,
        tags={"owner": "ml-platform", "window": "7d"},
    )
    return [pickup_zone, dropoff_zone, zone_hour, zone_pair]

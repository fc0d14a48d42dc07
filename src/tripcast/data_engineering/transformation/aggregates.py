"""Zone-level aggregates for the feature store, point-in-time correct.

A feature row stamped ``feature_timestamp = T`` is built only from trips whose
**dropoff** happened strictly before ``T``: at prediction time T, a trip still under
way has no known duration, so using it would leak the future into training.

* :func:`zone_hour_features` – per pickup zone and hour ``H``: trips that ended in
  ``[H - 1h, H)``: count, median duration, mean speed.
* :func:`zone_pair_features` – per (pickup zone, dropoff zone) and day ``D``: trips that
  ended in ``[D - window_days, D)``: median duration and count.

Both sort their rows by their keys unless called with ``ordered=False``: a global sort of tens of
millions of feature rows is a large part of the aggregation's cost, and only a caller that needs
byte-identical files should pay for it. The *content* is deterministic either way.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from tripcast.data_engineering.tlc.schema import DURATION_COLUMN

FEATURE_TIMESTAMP = "feature_timestamp"
#: The key of each aggregate: one row per key, and the sort order of ``ordered=True``.
ZONE_HOUR_KEYS: tuple[str, ...] = ("pickup_zone", FEATURE_TIMESTAMP)
ZONE_PAIR_KEYS: tuple[str, ...] = ("pickup_zone", "dropoff_zone", FEATURE_TIMESTAMP)


def _within(t: ir.Table, start: datetime | None, end: datetime | None) -> ir.Table:
    if start is not None:
        t = t.filter(t[FEATURE_TIMESTAMP] >= ibis.timestamp(start))
    if end is not None:
        t = t.filter(t[FEATURE_TIMESTAMP] < ibis.timestamp(end))
    return t


def _sorted(t: ir.Table, keys: tuple[str, ...], ordered: bool) -> ir.Table:
    return t.order_by(list(keys)) if ordered else t


def zone_hour_features(
    trips: ir.Table, start: datetime | None = None, end: datetime | None = None, *, ordered: bool = True
) -> ir.Table:
    """Per pickup zone and hour: ``zone_trips_1h``, ``zone_median_duration_1h``, ``zone_mean_speed_1h``.

    ``trips`` needs ``pickup_zone``, ``dropoff_datetime``, ``duration_minutes`` and ``avg_speed_mph``.
    Only feature hours in ``[start, end)`` are kept, so a month's run owns exactly its own hours
    (pass the previous month's trips along to fill the first hour). ``ordered=False`` skips the
    final sort by :data:`ZONE_HOUR_KEYS`.
    """
    stamped = trips.mutate(**{FEATURE_TIMESTAMP: trips.dropoff_datetime.truncate("h") + ibis.interval(hours=1)})
    grouped = stamped.group_by(["pickup_zone", FEATURE_TIMESTAMP]).aggregate(
        zone_trips_1h=stamped.count(),
        zone_median_duration_1h=stamped[DURATION_COLUMN].median(),
        zone_mean_speed_1h=stamped.avg_speed_mph.mean(),
    )
    grouped = grouped.mutate(zone_trips_1h=grouped.zone_trips_1h.cast("int64"))
    return _sorted(_within(grouped, start, end), ZONE_HOUR_KEYS, ordered)


def zone_pair_features(
    trips: ir.Table,
    window_days: int = 7,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    ordered: bool = True,
) -> ir.Table:
    """Per (pickup zone, dropoff zone) and day: median duration and count over the trailing window.

    Each trip is fanned out to the ``window_days`` feature days that may use it (the days
    after the day it ended), then grouped: one pass, no window functions, identical on
    every engine, and exact (a median cannot be combined from daily medians). ``ordered=False``
    skips the final sort by :data:`ZONE_PAIR_KEYS`.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    offsets = ibis.memtable({"day_offset": list(range(1, window_days + 1))})
    ended = trips.select(
        "pickup_zone",
        "dropoff_zone",
        DURATION_COLUMN,
        ended_day=trips.dropoff_datetime.truncate("D"),
    )
    fanned = ended.cross_join(offsets)
    fanned = fanned.mutate(**{FEATURE_TIMESTAMP: fanned.ended_day + fanned.day_offset.as_interval("D")})
    suffix = f"{window_days}d"
    grouped = fanned.group_by(["pickup_zone", "dropoff_zone", FEATURE_TIMESTAMP]).aggregate(
        **{
            f"pair_trips_{suffix}": fanned.count(),
            f"pair_median_duration_{suffix}": fanned[DURATION_COLUMN].median(),
        }
    )
    grouped = grouped.mutate(**{f"pair_trips_{suffix}": grouped[f"pair_trips_{suffix}"].cast("int64")})
    return _sorted(_within(grouped, start, end), ZONE_PAIR_KEYS, ordered)

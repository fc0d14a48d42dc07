"""The whole transformation of one month as a set of lazy Ibis expressions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis.expr.types as ir

from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS, DURATION_COLUMN, REASON_COLUMN
from tripcast.data_engineering.tlc.zones import ZoneLookup
from tripcast.data_engineering.transformation.aggregates import (
    ZONE_HOUR_KEYS,
    ZONE_PAIR_KEYS,
    zone_hour_features,
    zone_pair_features,
)
from tripcast.data_engineering.transformation.cleaning import clean_trips, quarantine_trips
from tripcast.data_engineering.transformation.enrichment import enrich_with_zones, zones_table
from tripcast.data_engineering.transformation.features import add_trip_features

#: Output name -> sort columns used when ``transform_trips(..., ordered=True)``. Trips have no id, so
#: they sort on every canonical column: rows that still tie are identical, so the files are byte-stable.
OUTPUT_KEYS: dict[str, tuple[str, ...]] = {
    "trips": tuple(CANONICAL_COLUMNS),
    "quarantine": (*CANONICAL_COLUMNS, REASON_COLUMN),
    "zone_hour": ZONE_HOUR_KEYS,
    "zone_pair": ZONE_PAIR_KEYS,
}


#: The only columns the zone aggregates read: a narrow table is cheap to materialise and rescan.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "pickup_zone",
    "dropoff_zone",
    "dropoff_datetime",
    DURATION_COLUMN,
    "avg_speed_mph",
)


#: Materialised history is stored in this order: each zone pair's trips together, by time.
AGGREGATE_CLUSTER: tuple[str, ...] = ("pickup_zone", "dropoff_zone", "dropoff_datetime")

Materializer = Callable[[ir.Table, Sequence[str]], ir.Table]

#: Rows fed into one range's grouped aggregation when the zone aggregates are written in pickup-zone
#: ranges (:meth:`Engine.write_parquet` ``splits``). A range's hash table of median states must stay
#: small: at 46M trips, zone_pair in 16 ranges of ~20M fanned rows took 35 s, in 32-109 ranges 23-25 s.
AGGREGATED_ROWS_PER_SPLIT = 3_000_000


def aggregate_splits(
    input_rows: int, window_days: int = 7, rows_per_split: int = AGGREGATED_ROWS_PER_SPLIT
) -> dict[str, int]:
    """How many pickup-zone ranges to write each zone aggregate in, for ``input_rows`` trips.

    Counted in rows the aggregation groups, not input rows: zone_hour groups each trip once, while
    zone_pair fans every trip out to its ``window_days`` feature days, so it gets ``window_days``
    times as many ranges.
    """
    per_trip = {"zone_hour": 1, "zone_pair": window_days}
    return {name: max(1, -(-input_rows * rows // rows_per_split)) for name, rows in per_trip.items()}


def aggregate_history(featured: ir.Table, materialize: Materializer | None = None) -> ir.Table:
    """The narrow trip history both zone aggregates are built from, optionally materialised once.

    ``materialize`` (e.g. :meth:`Engine.materialize`) computes the cleaned history a single time:
    without it, every output and every range of a range-split write re-reads and re-cleans the raw
    input. It changes where the work happens, never the result.
    """
    narrow = featured.select(*AGGREGATE_COLUMNS)
    return materialize(narrow, AGGREGATE_CLUSTER) if materialize is not None else narrow


@dataclass(frozen=True)
class TransformOutputs:
    """Lazy results for one month: enriched trips, quarantined rows and the two feature tables."""

    trips: ir.Table
    quarantine: ir.Table
    zone_hour: ir.Table
    zone_pair: ir.Table

    def items(self) -> list[tuple[str, ir.Table]]:
        return [
            ("trips", self.trips),
            ("quarantine", self.quarantine),
            ("zone_hour", self.zone_hour),
            ("zone_pair", self.zone_pair),
        ]


def transform_trips(
    canonical: ir.Table,
    month: Month | None,
    *,
    lookback: ir.Table | None = None,
    zones: ZoneLookup | None = None,
    zone_table: ir.Table | None = None,
    window_days: int = 7,
    materialize: Materializer | None = None,
    ordered: bool = True,
) -> TransformOutputs:
    """Clean, featurise and enrich a month of canonical trips, and build its zone aggregates.

    ``month`` adds the pickup-in-month rule and keeps only the month's own feature rows; ``None``
    transforms every row of ``canonical`` whatever its dates (the multi-year benchmark input).
    ``lookback`` holds the previous month's canonical trips, if available: they are only
    used so that feature rows at the start of the month see their full trailing window.
    ``zone_table`` is the zone lookup as the engine stores it best (:meth:`Engine.zone_table`);
    by default an in-memory table of ``zones``. ``materialize`` (e.g. ``engine.materialize``)
    computes the aggregates' input once; see :func:`aggregate_history`.

    ``ordered`` sorts every output by :data:`OUTPUT_KEYS`, so a rerun writes byte-identical files.
    Without it the rows come in engine order: the same rows, each exactly once, but a full sort of
    every output saved (the big lever at tens of millions of rows).
    """
    if lookback is not None and month is None:
        raise ValueError("lookback needs a month: it only fills the start of that month's trailing windows")
    start, end = (month.start, month.end) if month is not None else (None, None)
    clean = add_trip_features(clean_trips(canonical, month, zones))
    enriched = enrich_with_zones(clean, zone_table if zone_table is not None else zones_table(zones))
    history = clean
    if lookback is not None and month is not None:
        history = add_trip_features(clean_trips(lookback, month.previous(), zones)).union(clean)
    history = aggregate_history(history, materialize)
    quarantine = quarantine_trips(canonical, month, zones)
    if ordered:
        enriched = enriched.order_by(list(OUTPUT_KEYS["trips"]))
        quarantine = quarantine.order_by(list(OUTPUT_KEYS["quarantine"]))
    return TransformOutputs(
        trips=enriched,
        quarantine=quarantine,
        zone_hour=zone_hour_features(history, start=start, end=end, ordered=ordered),
        zone_pair=zone_pair_features(history, window_days=window_days, start=start, end=end, ordered=ordered),
    )

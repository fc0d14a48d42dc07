"""Cleaning: canonical trips -> plausible trips, with exactly the rules of the Pandera validator.

Reason labels are imported from :mod:`tripcast.data_engineering.tlc.validation` and the
limits from :mod:`tripcast.core.domain.trip`, so the scalable engine path and the pandas
validator cannot drift apart silently (a test compares both on a real month). Rows that
break a rule are never dropped silently: :func:`quarantine_trips` returns them with a
``quarantine_reason`` naming every broken rule, in the validator's order.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import MAX_DURATION_MINUTES, MAX_PLAUSIBLE_DISTANCE_MILES, MIN_DURATION_MINUTES
from tripcast.data_engineering.tlc.schema import DURATION_COLUMN, REASON_COLUMN, REQUIRED_COLUMNS
from tripcast.data_engineering.tlc.validation import (
    DROPOFF_NOT_AFTER_PICKUP,
    DURATION_OUT_OF_RANGE,
    IMPLAUSIBLE_DISTANCE,
    MISSING_REQUIRED_FIELD,
    NEGATIVE_DISTANCE,
    PICKUP_OUTSIDE_MONTH,
    REASON_SEPARATOR,
    UNKNOWN_DROPOFF_ZONE,
    UNKNOWN_PICKUP_ZONE,
)
from tripcast.data_engineering.tlc.zones import ZoneLookup


def duration_minutes(t: ir.Table) -> ir.FloatingValue:
    """Dropoff minus pickup in minutes (epoch seconds of naive timestamps: no timezone can shift them)."""
    seconds = t.dropoff_datetime.epoch_seconds() - t.pickup_datetime.epoch_seconds()
    return seconds.cast("float64") / 60.0


def rule_violations(t: ir.Table, month: Month | None = None, zones: ZoneLookup | None = None) -> dict[str, ir.Value]:
    """Reason label -> boolean expression, True where a row breaks that rule (validator order)."""
    zone_ids = (zones or ZoneLookup.bundled()).zone_ids
    duration = duration_minutes(t)
    missing = t.trip_distance.isnan()
    for column in REQUIRED_COLUMNS:
        missing = missing | t[column].isnull()
    rules: dict[str, ir.Value] = {
        MISSING_REQUIRED_FIELD: missing,
        DROPOFF_NOT_AFTER_PICKUP: t.dropoff_datetime <= t.pickup_datetime,
        # Non-positive durations belong to dropoff_not_after_pickup only: one fault, one reason.
        DURATION_OUT_OF_RANGE: (duration > 0) & ((duration < MIN_DURATION_MINUTES) | (duration > MAX_DURATION_MINUTES)),
        NEGATIVE_DISTANCE: t.trip_distance < 0,
        IMPLAUSIBLE_DISTANCE: t.trip_distance > MAX_PLAUSIBLE_DISTANCE_MILES,
    }
    if month is not None:
        start, end = ibis.timestamp(month.start), ibis.timestamp(month.end)
        rules[PICKUP_OUTSIDE_MONTH] = (t.pickup_datetime < start) | (t.pickup_datetime >= end)
    rules[UNKNOWN_PICKUP_ZONE] = t.pickup_zone.notnull() & ~_known_zone(t.pickup_zone, zone_ids)
    rules[UNKNOWN_DROPOFF_ZONE] = t.dropoff_zone.notnull() & ~_known_zone(t.dropoff_zone, zone_ids)
    # A comparison with a null is "unknown": not broken, since missing_required_field owns nulls.
    return {name: expr.fill_null(False) for name, expr in rules.items()}


def _known_zone(column: ir.IntegerColumn, zone_ids: list[int]) -> ir.Value:
    """Membership in the zone table; a contiguous id range compiles to a BETWEEN, several times faster than IN."""
    ordered = sorted(zone_ids)
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return column.between(ordered[0], ordered[-1])
    return column.isin(ordered)


def _any(flags: list[ir.Value]) -> ir.Value:
    combined = flags[0]
    for flag in flags[1:]:
        combined = combined | flag
    return combined


def clean_trips(t: ir.Table, month: Month | None = None, zones: ZoneLookup | None = None) -> ir.Table:
    """Rows breaking no rule, with ``duration_minutes`` added (the training target)."""
    rules = rule_violations(t, month, zones)
    return t.filter(~_any(list(rules.values()))).mutate(**{DURATION_COLUMN: duration_minutes(t)})


def quarantine_trips(t: ir.Table, month: Month | None = None, zones: ZoneLookup | None = None) -> ir.Table:
    """Rows breaking at least one rule, with ``quarantine_reason`` = every broken rule, ``"; "``-joined."""
    rules = rule_violations(t, month, zones)
    # Build "; a; b" by concatenation, then strip the leading separator: portable across engines.
    joined: ir.Value = ibis.literal("")
    for name, flag in rules.items():
        joined = joined + ibis.ifelse(flag, ibis.literal(REASON_SEPARATOR + name), ibis.literal(""))
    reason = joined.substr(len(REASON_SEPARATOR))
    return t.filter(_any(list(rules.values()))).mutate(**{REASON_COLUMN: reason})


def split_trips(t: ir.Table, month: Month | None = None, zones: ZoneLookup | None = None) -> tuple[ir.Table, ir.Table]:
    """``(clean, quarantined)``: every input row lands in exactly one of them."""
    return clean_trips(t, month, zones), quarantine_trips(t, month, zones)

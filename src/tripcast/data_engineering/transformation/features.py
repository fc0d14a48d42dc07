"""Per-trip features known at pickup time, plus the target-derived speed used by aggregates."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tripcast.data_engineering.tlc.schema import DURATION_COLUMN


def add_trip_features(t: ir.Table) -> ir.Table:
    """Add pickup-time features and ``avg_speed_mph`` to cleaned trips (which carry ``duration_minutes``).

    ``pickup_day_of_week`` is 0 = Monday .. 6 = Sunday on every engine.
    """
    dow = t.pickup_datetime.day_of_week.index()
    hours = t[DURATION_COLUMN] / 60.0
    return t.mutate(
        pickup_date=t.pickup_datetime.date(),
        pickup_hour=t.pickup_datetime.hour().cast("int32"),
        pickup_day_of_week=dow.cast("int32"),
        pickup_month=t.pickup_datetime.month().cast("int32"),
        is_weekend=dow >= 5,
        avg_speed_mph=ibis.ifelse(hours > 0, t.trip_distance / hours, ibis.null("float64")),
    )

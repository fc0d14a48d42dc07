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
        pickup_hour=_int32(t.pickup_datetime.hour()),
        pickup_day_of_week=dow.cast("int32"),
        pickup_month=_int32(t.pickup_datetime.month()),
        is_weekend=dow >= 5,
        avg_speed_mph=ibis.ifelse(hours > 0, t.trip_distance / hours, ibis.null("float64")),
    )


def _int32(part: ir.IntegerValue) -> ir.IntegerValue:
    """A date part as a real int32 on every engine.

    Ibis types ``hour()``/``month()`` as int32 and so drops a plain ``cast("int32")`` as a no-op,
    but DuckDB's EXTRACT returns BIGINT: the files would then hold int64 while the catalog, built
    from the Ibis schema, says int32. Going through int64 makes Ibis emit the cast.
    """
    return part.cast("int64").cast("int32")

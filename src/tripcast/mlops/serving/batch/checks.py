"""The core's trip rules over an Arrow batch: vectorised for the rows that pass, row by row for the others.

A vectorised pass marks the rows that surely pass every rule of :func:`tripcast.core.domain.trip.trip_problems`
(typed columns, values in range). It only ever says "surely valid", never "invalid": every other row is
checked by the core's own per-row rules, which decide, and which write the reasons. So the outcome and the
reason texts are those of the HTTP API by construction, and only the (rare) suspect rows cost Python work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tripcast.core.domain.errors import FieldProblem
from tripcast.core.domain.trip import (
    EARLIEST_PICKUP,
    MAX_PASSENGERS,
    MAX_PICKUP_AHEAD,
    MAX_PLAUSIBLE_DISTANCE_MILES,
    MAX_ZONE_ID,
    MIN_ZONE_ID,
    trip_problems,
)
from tripcast.core.ports.batch_scoring import CheckedBatch, TripBatch
from tripcast.mlops.serving.batch.schema import (
    CHECKED_SCHEMA,
    QUARANTINE_SCHEMA,
    REASON_COLUMN,
    REQUEST_FIELDS,
    REQUIRED_FIELDS,
)

#: Integers a float column may stand for (CSV readers give floats for integer columns with gaps).
_INT32_LIMIT = 2**31


def request_problems(row: dict[str, Any], latest_pickup: datetime | None = None) -> list[FieldProblem]:
    """The core's trip rules for one row (the same rules the HTTP API applies)."""
    return trip_problems(**{name: row.get(name) for name in REQUEST_FIELDS}, latest_pickup=latest_pickup)


def _normalise(value: Any) -> Any:
    # CSV readers give floats for integer columns with gaps; 74.0 is the zone 74, 74.5 is not a zone.
    if isinstance(value, float) and not math.isnan(value) and value.is_integer() and abs(value) < _INT32_LIMIT:
        return int(value)
    return value


def _latest_pickup() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + MAX_PICKUP_AHEAD


class ArrowBatchChecker:
    """Splits a batch of request columns into rows to score and rows refused with reasons."""

    def __init__(self, latest_pickup: Callable[[], datetime] = _latest_pickup) -> None:
        self.latest_pickup = latest_pickup

    def check(self, batch: TripBatch) -> CheckedBatch:
        """Rows passing the trip rules (typed as the scored output) and the others with their reasons."""
        table: pa.Table = batch.columns
        n = batch.num_rows
        columns = {
            name: table.column(name).combine_chunks() if name in table.column_names else pa.nulls(n)
            for name in REQUEST_FIELDS
        }
        pickup = _wall_clock(columns["pickup_datetime"])
        latest = self.latest_pickup()  # one bound for the whole batch, in both passes
        missing = [name for name in REQUIRED_FIELDS if name not in table.column_names]
        surely_valid = np.zeros(n, dtype=bool) if missing else _surely_valid(columns, pickup, latest)
        suspects = np.flatnonzero(~surely_valid)
        rescued, refused, reasons, counts = _row_checks(columns, suspects, missing, latest)
        valid_mask = surely_valid
        valid_mask[rescued] = True
        valid = _valid_table(columns, pickup, valid_mask, batch)
        bad = _refused_table(columns, refused, reasons, batch)
        return CheckedBatch(valid, valid.num_rows, bad, bad.num_rows, counts)


def _surely_valid(columns: dict[str, pa.Array], pickup: pa.Array, latest: datetime) -> np.ndarray:
    """True where a row surely passes every trip rule; False where the per-row rules must decide."""
    checks = [
        _pickup_in_range(pickup, latest),
        _integers_in(columns["pickup_zone"], MIN_ZONE_ID, MAX_ZONE_ID),
        _integers_in(columns["dropoff_zone"], MIN_ZONE_ID, MAX_ZONE_ID),
        _numbers_in(columns["trip_distance"], 0.0, MAX_PLAUSIBLE_DISTANCE_MILES),
        _absent_or(columns["vendor_id"], _integers_in(columns["vendor_id"], 1, _INT32_LIMIT - 1)),
        _absent_or(columns["passenger_count"], _integers_in(columns["passenger_count"], 0, MAX_PASSENGERS)),
    ]
    surely = checks[0]
    for check in checks[1:]:
        surely = pc.and_(surely, check)
    return np.asarray(pc.fill_null(surely, False).to_numpy(zero_copy_only=False), dtype=bool).copy()


def _wall_clock(pickup: pa.Array) -> pa.Array:
    """Timestamps as local wall-clock time (a timezone is dropped, as the API does); other types unchanged."""
    if pa.types.is_timestamp(pickup.type) and pickup.type.tz is not None:
        return pc.local_timestamp(pickup)
    return pickup


def _pickup_in_range(pickup: pa.Array, latest: datetime) -> pa.Array:
    if not pa.types.is_timestamp(pickup.type):
        return pa.repeat(False, len(pickup))  # strings, dates: the row rules say what is wrong
    earliest = pa.scalar(EARLIEST_PICKUP, pickup.type)
    return pc.and_(pc.greater_equal(pickup, earliest), pc.less_equal(pickup, pa.scalar(latest, pickup.type)))


def _integers_in(values: pa.Array, low: int, high: int) -> pa.Array:
    """True where a value is an integer (or an integral float) in ``low..high``; null stays null."""
    kind = values.type
    if pa.types.is_integer(kind):
        return pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    if pa.types.is_floating(kind):
        in_range = pc.and_(pc.greater_equal(values, float(low)), pc.less_equal(values, float(high)))
        return pc.and_(in_range, pc.equal(pc.floor(values), values))
    return pa.repeat(False, len(values))


def _numbers_in(values: pa.Array, low: float, high: float) -> pa.Array:
    """True where a value is a number in ``low..high`` (NaN and infinities are not)."""
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        return pa.repeat(False, len(values))
    return pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))


def _absent_or(values: pa.Array, check: pa.Array) -> pa.Array:
    """An optional field passes when missing, else when ``check`` holds."""
    return pc.or_(pc.is_null(values), pc.fill_null(check, False))


def _row_checks(
    columns: dict[str, pa.Array], suspects: np.ndarray, missing: list[str], latest: datetime
) -> tuple[list[int], list[int], list[str], dict[str, int]]:
    """The core's per-row rules on the suspect rows: (passing rows, refused rows, their reasons, per-field counts)."""
    rescued: list[int] = []
    refused: list[int] = []
    reasons: list[str] = []
    counts: dict[str, int] = {}
    if len(suspects) == 0:
        return rescued, refused, reasons, counts
    indices = pa.array(suspects, pa.int64())
    values = {name: column.take(indices).to_pylist() for name, column in columns.items()}
    for k, i in enumerate(suspects.tolist()):
        row = {name: _normalise(column[k]) for name, column in values.items()}
        if isinstance(row["pickup_datetime"], datetime) and row["pickup_datetime"].tzinfo is not None:
            row["pickup_datetime"] = row["pickup_datetime"].replace(tzinfo=None)
        problems = request_problems(row, latest)
        if not problems:
            rescued.append(i)
            continue
        if missing:
            problems = [FieldProblem(name, "column missing from the input file") for name in missing]
        for problem in problems:
            counts[problem.field] = counts.get(problem.field, 0) + 1
        refused.append(i)
        reasons.append("; ".join(str(problem) for problem in problems))
    return rescued, refused, reasons, counts


def _valid_table(columns: dict[str, pa.Array], pickup: pa.Array, mask: np.ndarray, batch: TripBatch) -> pa.Table:
    keep = pa.array(mask, pa.bool_())
    rows = np.flatnonzero(mask)
    values: dict[str, Any] = {
        "source_file": pa.repeat(batch.source_file, len(rows)),
        "source_row": pa.array(rows + batch.first_row, pa.int64()),
        "pickup_datetime": pickup.filter(keep).cast(pa.timestamp("us"), safe=False),
    }
    for name in REQUEST_FIELDS[1:]:
        values[name] = columns[name].filter(keep).cast(CHECKED_SCHEMA.field(name).type)
    return pa.table(values, schema=CHECKED_SCHEMA)


def _refused_table(columns: dict[str, pa.Array], refused: list[int], reasons: list[str], batch: TripBatch) -> pa.Table:
    indices = pa.array(refused, pa.int64())
    values: dict[str, Any] = {
        "source_file": pa.repeat(batch.source_file, len(refused)),
        "source_row": pa.array([batch.first_row + i for i in refused], pa.int64()),
    }
    for name in REQUEST_FIELDS:
        # As read (74.0 stays "74.0"), so the quarantine shows what the file holds.
        values[name] = [None if v is None else str(v) for v in columns[name].take(indices).to_pylist()]
    values[REASON_COLUMN] = reasons
    return pa.table(values, schema=QUARANTINE_SCHEMA)

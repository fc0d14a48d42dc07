"""Split raw trips into valid rows and quarantined rows with every reason, vectorised.

The rules are written once, as :class:`RowRule` objects holding a vectorised
function and the limits from :mod:`tripcast.core.domain.trip`.
:func:`build_trip_schema` expresses each of them as a Pandera check whose error is
the quarantine reason (built-in range/enum checks for single-column rules,
registered checks for the cross-column ones) in :data:`TRIP_SCHEMA`: column
types, required non-null columns, titles and descriptions, the single serialisable
description other tools export. :class:`PanderaTripValidator` evaluates the rule
functions directly as boolean masks, because Pandera's per-failure bookkeeping is
many times slower than the checks themselves on a month of trips; a unit test
checks that the schema and the validator flag the same rows.

:class:`~tripcast.core.services.validation.Validation` calls :meth:`PanderaTripValidator.split` once per
record batch of a month (cast failures and reasons are per batch), so a month of any size validates in
bounded memory; a test checks that batch-wise and whole-file validation give the same rows.

Every input row ends up in exactly one output: valid rows gain ``duration_minutes``;
quarantined rows gain ``quarantine_reason`` listing all broken rules, ``"; "``-joined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import (
    MAX_DURATION_MINUTES,
    MAX_PLAUSIBLE_DISTANCE_MILES,
    MAX_ZONE_ID,
    MIN_DURATION_MINUTES,
    MIN_ZONE_ID,
)
from tripcast.core.ports.data import RawDataset, TripValidator, ValidationOutcome
from tripcast.data_engineering.tlc.casting import CAST_FAILURES_ATTR, conform
from tripcast.data_engineering.tlc.schema import (
    CANONICAL_DTYPES,
    COLUMN_DOCS,
    DURATION_COLUMN,
    REASON_COLUMN,
    REQUIRED_COLUMNS,
    SERVICES,
)
from tripcast.data_engineering.tlc.zones import ZoneLookup

# Stable reason labels: reports, dashboards and alerts key on these strings.
MISSING_REQUIRED_FIELD = "missing_required_field"
DROPOFF_NOT_AFTER_PICKUP = "dropoff_not_after_pickup"
DURATION_OUT_OF_RANGE = "duration_out_of_range"
NEGATIVE_DISTANCE = "negative_distance"
IMPLAUSIBLE_DISTANCE = "implausible_distance"
PICKUP_OUTSIDE_MONTH = "pickup_outside_month"
UNKNOWN_PICKUP_ZONE = "unknown_pickup_zone"
UNKNOWN_DROPOFF_ZONE = "unknown_dropoff_zone"
WRONG_TYPE_PREFIX = "wrong_type_"

REASON_SEPARATOR = "; "

Mask = np.ndarray


@dataclass(frozen=True)
class RowRule:
    """One plausibility rule: a reason label and a vectorised test that is True where a row breaks it.

    ``broken`` never flags nulls: a missing value is reported once, as
    ``missing_required_field``, not again by every rule that reads the column.
    """

    reason: str
    description: str
    columns: tuple[str, ...]
    broken: Callable[[pd.DataFrame], Mask]


def wrong_type_reason(column: str) -> str:
    """The reason label for a value of ``column`` that could not be cast to its canonical type."""
    return f"{WRONG_TYPE_PREFIX}{column}"


def duration_minutes(frame: pd.DataFrame) -> pd.Series:
    """Minutes from pickup to dropoff (NaN when either is missing)."""
    delta = frame["dropoff_datetime"] - frame["pickup_datetime"]
    return delta.dt.total_seconds() / 60.0


def _bool(values: pd.Series) -> Mask:
    return values.fillna(False).to_numpy(dtype=bool)


def _dropoff_not_after_pickup(frame: pd.DataFrame) -> Mask:
    return _bool(frame["dropoff_datetime"] <= frame["pickup_datetime"])


def _duration_outside(frame: pd.DataFrame, low: float, high: float) -> Mask:
    minutes = duration_minutes(frame)
    # Non-positive durations are reported as dropoff_not_after_pickup only, so one fault gives one reason.
    return _bool((minutes > 0) & ((minutes < low) | (minutes > high)))


def _duration_out_of_range(frame: pd.DataFrame) -> Mask:
    return _duration_outside(frame, MIN_DURATION_MINUTES, MAX_DURATION_MINUTES)


def _negative_distance(frame: pd.DataFrame) -> Mask:
    return _bool(frame["trip_distance"] < 0)


def _implausible_distance(frame: pd.DataFrame) -> Mask:
    return _bool(frame["trip_distance"] > MAX_PLAUSIBLE_DISTANCE_MILES)


def _zone_rule(column: str, zone_ids: frozenset[int]) -> Callable[[pd.DataFrame], Mask]:
    known = np.array(sorted(zone_ids), dtype="int32")

    def broken(frame: pd.DataFrame) -> Mask:
        zones = frame[column]
        return zones.notna().to_numpy(dtype=bool) & ~np.isin(zones.fillna(0).to_numpy(dtype="int64"), known)

    return broken


def _month_rule(month: Month) -> Callable[[pd.DataFrame], Mask]:
    start, end = pd.Timestamp(month.start), pd.Timestamp(month.end)

    def broken(frame: pd.DataFrame) -> Mask:
        pickup = frame["pickup_datetime"]
        return _bool((pickup < start) | (pickup >= end))

    return broken


def row_rules(zone_ids: frozenset[int], month: Month | None = None) -> list[RowRule]:
    """The plausibility rules, in reporting order; the month rule only when a month is given."""
    rules = [
        RowRule(
            DROPOFF_NOT_AFTER_PICKUP,
            "dropoff time must be later than pickup time",
            ("pickup_datetime", "dropoff_datetime"),
            _dropoff_not_after_pickup,
        ),
        RowRule(
            DURATION_OUT_OF_RANGE,
            f"trip duration must be {MIN_DURATION_MINUTES:g}-{MAX_DURATION_MINUTES:g} minutes",
            ("pickup_datetime", "dropoff_datetime"),
            _duration_out_of_range,
        ),
        RowRule(NEGATIVE_DISTANCE, "trip distance must be >= 0 miles", ("trip_distance",), _negative_distance),
        RowRule(
            IMPLAUSIBLE_DISTANCE,
            f"trip distance must be at most {MAX_PLAUSIBLE_DISTANCE_MILES:g} miles",
            ("trip_distance",),
            _implausible_distance,
        ),
    ]
    if month is not None:
        rules.append(
            RowRule(
                PICKUP_OUTSIDE_MONTH,
                f"pickup must fall inside {month} (the file's month)",
                ("pickup_datetime",),
                _month_rule(month),
            )
        )
    rules += [
        RowRule(
            UNKNOWN_PICKUP_ZONE,
            "pickup zone must be a TLC taxi zone id",
            ("pickup_zone",),
            _zone_rule("pickup_zone", zone_ids),
        ),
        RowRule(
            UNKNOWN_DROPOFF_ZONE,
            "dropoff zone must be a TLC taxi zone id",
            ("dropoff_zone",),
            _zone_rule("dropoff_zone", zone_ids),
        ),
    ]
    return rules


def _register_cross_column_checks() -> None:
    """Register the rules spanning two columns as named Pandera checks, so schemas holding them serialise."""
    if "dropoff_after_pickup" not in pa.Check.REGISTERED_CUSTOM_CHECKS:

        @extensions.register_check_method(statistics=[], supported_types=pd.DataFrame)
        def dropoff_after_pickup(frame: pd.DataFrame) -> pd.Series:
            return pd.Series(~_dropoff_not_after_pickup(frame), index=frame.index)

    if "duration_minutes_within" not in pa.Check.REGISTERED_CUSTOM_CHECKS:

        @extensions.register_check_method(statistics=["min_minutes", "max_minutes"], supported_types=pd.DataFrame)
        def duration_minutes_within(frame: pd.DataFrame, *, min_minutes: float, max_minutes: float) -> pd.Series:
            return pd.Series(~_duration_outside(frame, min_minutes, max_minutes), index=frame.index)


_register_cross_column_checks()


def _cross_column_checks() -> dict[str, pa.Check]:
    """Reason -> registered dataframe-level check, for the rules that compare two columns."""
    return {
        DROPOFF_NOT_AFTER_PICKUP: pa.Check.dropoff_after_pickup(error=DROPOFF_NOT_AFTER_PICKUP),
        DURATION_OUT_OF_RANGE: pa.Check.duration_minutes_within(
            min_minutes=MIN_DURATION_MINUTES, max_minutes=MAX_DURATION_MINUTES, error=DURATION_OUT_OF_RANGE
        ),
    }


def _builtin_column_checks(zone_ids: frozenset[int], month: Month | None) -> dict[str, tuple[str, pa.Check]]:
    """Reason -> (column, built-in Pandera check) for the rules that read one column only."""
    checks = {
        NEGATIVE_DISTANCE: ("trip_distance", pa.Check.ge(0.0, error=NEGATIVE_DISTANCE)),
        IMPLAUSIBLE_DISTANCE: ("trip_distance", pa.Check.le(MAX_PLAUSIBLE_DISTANCE_MILES, error=IMPLAUSIBLE_DISTANCE)),
        UNKNOWN_PICKUP_ZONE: ("pickup_zone", pa.Check.isin(sorted(zone_ids), error=UNKNOWN_PICKUP_ZONE)),
        UNKNOWN_DROPOFF_ZONE: ("dropoff_zone", pa.Check.isin(sorted(zone_ids), error=UNKNOWN_DROPOFF_ZONE)),
    }
    if month is not None:
        start, end = pd.Timestamp(month.start), pd.Timestamp(month.end)
        checks[PICKUP_OUTSIDE_MONTH] = (
            "pickup_datetime",
            pa.Check.in_range(start, end, include_max=False, error=PICKUP_OUTSIDE_MONTH),
        )
    return checks


def _has(rules: list[RowRule], reason: str) -> bool:
    return any(rule.reason == reason for rule in rules)


def build_trip_schema(
    zones: ZoneLookup | None = None,
    month: Month | None = None,
    *,
    processed: bool = False,
) -> pa.DataFrameSchema:
    """The Pandera schema of canonical trips: types, required non-null columns, plausibility checks.

    ``month`` adds the pickup-inside-the-month check; ``processed`` adds the
    ``duration_minutes`` column that valid rows carry.
    """
    zone_ids = frozenset((zones or ZoneLookup.bundled()).zone_ids)
    rules = row_rules(zone_ids, month)
    # Single-column rules become Pandera's built-in column checks, which serialise (YAML, JSON
    # Schema ranges and enums); rules spanning columns become registered dataframe checks.
    builtin = _builtin_column_checks(zone_ids, month)
    columns: dict[str, pa.Column] = {}
    for name, dtype in CANONICAL_DTYPES.items():
        title, description = COLUMN_DOCS[name]
        checks = [pa.Check.isin(list(SERVICES))] if name == "service" else []
        checks += [check for reason, (column, check) in builtin.items() if column == name and _has(rules, reason)]
        columns[name] = pa.Column(
            dtype,
            checks=checks,
            nullable=name not in REQUIRED_COLUMNS,
            title=title,
            description=description,
        )
    if processed:
        title, description = COLUMN_DOCS[DURATION_COLUMN]
        columns[DURATION_COLUMN] = pa.Column(
            "float64",
            checks=[pa.Check.in_range(MIN_DURATION_MINUTES, MAX_DURATION_MINUTES)],
            nullable=False,
            title=title,
            description=description,
        )
    cross = _cross_column_checks()
    unmapped = [r.reason for r in rules if r.reason not in builtin and r.reason not in cross]
    if unmapped:  # a new rule must be given a schema check too, or the schema would silently lag behind
        raise RuntimeError(f"rules without a Pandera check: {unmapped}")
    checks = [cross[rule.reason] for rule in rules if rule.reason in cross]
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        name="processed_trips" if processed else "trips",
        title="NYC TLC trip" if not processed else "Validated NYC TLC trip",
        description=(
            "One taxi trip in the canonical schema (green and yellow, 2019 onwards). "
            f"Zone ids {MIN_ZONE_ID}-{MAX_ZONE_ID} per the TLC zone lookup."
        ),
        ordered=True,
        strict=True,
    )


#: The canonical trip schema with every plausibility rule except the month (which depends on the file).
TRIP_SCHEMA: pa.DataFrameSchema = build_trip_schema()
#: Valid rows as validation outputs them: :data:`TRIP_SCHEMA` plus ``duration_minutes``.
PROCESSED_TRIP_SCHEMA: pa.DataFrameSchema = build_trip_schema(processed=True)


class PanderaTripValidator(TripValidator):
    """Validates canonical trips against :data:`TRIP_SCHEMA`'s rules plus the file's month."""

    def __init__(self, zones: ZoneLookup | None = None) -> None:
        self._zones = zones or ZoneLookup.bundled()
        self._zone_ids = frozenset(self._zones.zone_ids)

    def split(self, dataset: RawDataset) -> ValidationOutcome:
        """Every input row lands in exactly one of ``valid`` and ``quarantined``."""
        try:
            frame = conform(dataset.table)
        except ValueError as exc:  # two source columns claim one canonical column
            raise InvalidInputError([FieldProblem("columns", f"{dataset.source}: {exc}")]) from exc
        _check_structure(frame)
        masks = self.reason_masks(frame, dataset.month)
        bad = np.zeros(len(frame), dtype=bool)
        for mask in masks.values():
            bad |= mask
        valid = frame.loc[~bad].reset_index(drop=True)
        valid[DURATION_COLUMN] = duration_minutes(valid).astype("float64")
        quarantined = frame.loc[bad].reset_index(drop=True)
        quarantined[REASON_COLUMN] = pd.array(_join_reasons(masks, bad), dtype="string")
        # Cast-failure positions refer to the input rows; they mean nothing for the outputs.
        valid.attrs.clear()
        quarantined.attrs.clear()
        reasons = {reason: int(mask.sum()) for reason, mask in masks.items() if mask.any()}
        return ValidationOutcome(valid=valid, quarantined=quarantined, reasons=reasons)

    def reason_masks(self, frame: pd.DataFrame, month: Month | None) -> dict[str, Mask]:
        """Reason label -> boolean mask of rows breaking it, for a conformed frame, in reporting order."""
        n_rows = len(frame)
        masks: dict[str, Mask] = {
            MISSING_REQUIRED_FIELD: frame[list(REQUIRED_COLUMNS)].isna().any(axis=1).to_numpy(dtype=bool)
        }
        for rule in row_rules(self._zone_ids, month):
            masks[rule.reason] = rule.broken(frame)
        for column, positions in frame.attrs.get(CAST_FAILURES_ATTR, {}).items():
            mask = np.zeros(n_rows, dtype=bool)
            mask[np.asarray(positions, dtype="int64")] = True
            masks[wrong_type_reason(column)] = mask
        return masks


def _check_structure(frame: pd.DataFrame) -> None:
    """Guard against a casting bug: after :func:`conform`, the columns and dtypes are exactly canonical."""
    actual = {c: str(t) for c, t in frame.dtypes.items()}
    if actual != CANONICAL_DTYPES:
        wrong = {c: (actual.get(c), t) for c, t in CANONICAL_DTYPES.items() if actual.get(c) != t}
        raise TypeError(f"conformed trips do not match the canonical schema (got, expected): {wrong}")


def _join_reasons(masks: dict[str, Mask], bad: Mask) -> np.ndarray:
    """The ``"; "``-joined reasons of each bad row, built column-wise over the bad rows only."""
    joined = np.full(int(bad.sum()), "", dtype=object)
    for reason, mask in masks.items():
        hit = mask[bad]
        if not hit.any():
            continue
        joined[hit] = np.where(joined[hit] == "", reason, joined[hit] + REASON_SEPARATOR + reason)
    return joined


def reason_table(outcome: ValidationOutcome) -> list[tuple[str, int]]:
    """``(reason, rows)`` pairs, most frequent first then by name, for printing."""
    return sorted(outcome.reasons.items(), key=lambda item: (-item[1], item[0]))

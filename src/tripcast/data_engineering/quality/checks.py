"""Data quality checks with a severity: a ``warn`` check flags, a ``fail`` check stops the pipeline.

Each check returns a :class:`CheckResult` naming the check, the measured value and the
threshold it was held to, so a report reader sees *what* failed and *by how much*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. ``status`` is ``pass``, ``warn`` or ``fail``."""

    name: str
    status: str
    value: float
    threshold: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _graded(name: str, value: float, warn_above: float, fail_above: float, what: str) -> CheckResult:
    status = FAIL if value > fail_above else WARN if value > warn_above else PASS
    return CheckResult(name, status, float(value), f"warn > {warn_above:g}, fail > {fail_above:g}", what)


def null_rate(frame: pd.DataFrame, column: str, warn_above: float, fail_above: float) -> CheckResult:
    """Share of nulls in ``column``."""
    rate = float(frame[column].isna().mean()) if len(frame) else 0.0
    return graded_null_rate(column, rate, warn_above, fail_above)


def graded_null_rate(column: str, rate: float, warn_above: float, fail_above: float) -> CheckResult:
    """:func:`null_rate` from a share computed elsewhere."""
    return _graded(f"null_rate:{column}", rate, warn_above, fail_above, f"{rate:.2%} of {column} values are null")


def value_range(
    frame: pd.DataFrame, column: str, low: float, high: float, warn_above: float = 0.0, fail_above: float = 0.01
) -> CheckResult:
    """Share of non-null ``column`` values outside ``[low, high]``."""
    values = frame[column].dropna()
    share = float(((values < low) | (values > high)).mean()) if len(values) else 0.0
    return graded_range(column, share, low, high, warn_above, fail_above)


def graded_range(
    column: str, share: float, low: float, high: float, warn_above: float = 0.0, fail_above: float = 0.01
) -> CheckResult:
    """:func:`value_range` from a share computed elsewhere."""
    message = f"{share:.3%} of {column} values outside [{low:g}, {high:g}]"
    return _graded(f"range:{column}", share, warn_above, fail_above, message)


def uniqueness(
    frame: pd.DataFrame, columns: Iterable[str], warn_above: float = 0.001, fail_above: float = 0.01
) -> CheckResult:
    """Share of rows that duplicate an earlier row on ``columns`` (a trip recorded twice)."""
    cols = list(columns)
    share = float(frame.duplicated(subset=cols).mean()) if len(frame) else 0.0
    return graded_uniqueness(cols, share, warn_above, fail_above)


def graded_uniqueness(
    columns: list[str], share: float, warn_above: float = 0.001, fail_above: float = 0.01
) -> CheckResult:
    """:func:`uniqueness` from a share computed elsewhere."""
    message = f"{share:.3%} of rows repeat an earlier row on ({', '.join(columns)})"
    return _graded("uniqueness:" + "+".join(columns), share, warn_above, fail_above, message)


def referential_integrity(frame: pd.DataFrame, column: str, known_ids: Iterable[int]) -> CheckResult:
    """Share of non-null ``column`` values that are not ids of the reference (zone) table; any is a failure."""
    values = frame[column].dropna()
    share = float((~values.isin(list(known_ids))).mean()) if len(values) else 0.0
    return graded_referential_integrity(column, share)


def graded_referential_integrity(column: str, share: float) -> CheckResult:
    """:func:`referential_integrity` from a share computed elsewhere."""
    message = f"{share:.3%} of {column} values are not in the zone table"
    return _graded(f"referential_integrity:{column}", share, 0.0, 0.0, message)


def freshness(frame: pd.DataFrame, column: str, expected_end: datetime, max_lag: timedelta) -> CheckResult:
    """The newest ``column`` value must be within ``max_lag`` of ``expected_end`` (the month's end)."""
    return graded_freshness(column, frame[column].max() if len(frame) else None, expected_end, max_lag)


def graded_freshness(column: str, latest: Any, expected_end: datetime, max_lag: timedelta) -> CheckResult:
    """:func:`freshness` from the newest value found elsewhere (None when there is none)."""
    if latest is None or pd.isna(latest):
        return CheckResult(f"freshness:{column}", FAIL, float("inf"), f"lag <= {max_lag}", f"no {column} values at all")
    lag_hours = (pd.Timestamp(expected_end) - pd.Timestamp(latest)).total_seconds() / 3600
    limit = max_lag.total_seconds() / 3600
    status = PASS if lag_hours <= limit else FAIL
    message = f"latest {column} {latest} is {lag_hours:.1f} h before {expected_end:%Y-%m-%d %H:%M}"
    return CheckResult(f"freshness:{column}", status, lag_hours, f"fail > {limit:g} h", message)


def volume(n_rows: int, history: list[int], min_rows: int, max_drop: float = 0.5) -> CheckResult:
    """Row count: at least ``min_rows``, and not below ``(1 - max_drop)`` x the median of earlier months."""
    baseline = float(pd.Series(history).median()) if history else 0.0
    floor = max(float(min_rows), baseline * (1 - max_drop))
    status = PASS if n_rows >= floor else FAIL
    context = f"median of {len(history)} earlier months {baseline:,.0f}" if history else "no earlier months"
    return CheckResult("volume", status, float(n_rows), f"fail < {floor:,.0f}", f"{n_rows:,} valid rows ({context})")


def quarantine_rate(n_input: int, n_quarantined: int, warn_above: float, fail_above: float) -> CheckResult:
    """Share of input rows set aside by validation."""
    rate = n_quarantined / n_input if n_input else 0.0
    message = f"{n_quarantined:,} of {n_input:,} rows quarantined ({rate:.2%})"
    return _graded("quarantine_rate", rate, warn_above, fail_above, message)


def reason_rate(reason: str, count: int, n_input: int, warn_above: float, fail_above: float) -> CheckResult:
    """Share of input rows quarantined for one reason."""
    rate = count / n_input if n_input else 0.0
    return _graded(
        f"quarantine_reason:{reason}", rate, warn_above, fail_above, f"{count:,} rows ({rate:.2%}): {reason}"
    )

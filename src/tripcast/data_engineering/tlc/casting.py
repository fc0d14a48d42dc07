"""Rename and cast any TLC-like table to the canonical trip schema, explicitly and without crashing.

TLC changed column types over the years: location ids are int64 in 2021 and int32
from 2023-02, ``passenger_count``/``RatecodeID``/``payment_type`` are floats in some
years and ints in others, CSV files hold text. Every column is therefore cast
explicitly to :data:`~tripcast.data_engineering.tlc.schema.CANONICAL_DTYPES`.

A value that cannot be represented (``1.5`` passengers, ``"abc"`` miles, a zone id
beyond int32) becomes a null instead of an exception, and its row position is
recorded in ``frame.attrs[CAST_FAILURES_ATTR]`` so that validation can quarantine
the row with a ``wrong_type_<column>`` reason rather than letting it pass as a
plain null.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES, TLC_TO_CANONICAL

#: ``frame.attrs`` key: canonical column -> sorted row positions whose value could not be cast.
CAST_FAILURES_ATTR = "tripcast_cast_failures"
#: TLC timestamps are New York local time; tz-aware inputs are converted to it and made naive.
TLC_TIMEZONE = "America/New_York"

_INT_BOUNDS = {"Int32": (np.iinfo(np.int32).min, np.iinfo(np.int32).max)}
_NUMPY_INT = {"Int32": np.int32}


def detect_service(columns: Iterable[str]) -> str | None:
    """``green`` for ``lpep_`` timestamps, ``yellow`` for ``tpep_``, None when neither appears."""
    names = [str(c) for c in columns]
    if any(n.startswith("lpep_") for n in names):
        return "green"
    if any(n.startswith("tpep_") for n in names):
        return "yellow"
    return None


def rename_to_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename TLC columns to canonical names; drop columns the canonical schema does not know.

    Raises ``ValueError`` when two source columns map to the same canonical column
    (e.g. both ``airport_fee`` and ``Airport_fee``), because picking one silently
    could hide data.
    """
    renamed = {c: TLC_TO_CANONICAL.get(str(c), str(c)) for c in frame.columns}
    targets = [t for t in renamed.values() if t in CANONICAL_DTYPES]
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        sources = [c for c, t in renamed.items() if t in duplicates]
        raise ValueError(f"columns {sources} all map to {duplicates}")
    keep = [c for c, t in renamed.items() if t in CANONICAL_DTYPES]
    return frame[keep].rename(columns={c: renamed[c] for c in keep})


def conform(frame: pd.DataFrame, service: str | None = None) -> pd.DataFrame:
    """A new frame in canonical column order and dtypes; uncastable values become nulls and are recorded.

    Absent columns (optional or required) are added as nulls: callers that need
    required columns check for them before calling. ``service`` (by default the
    one the ``lpep_``/``tpep_`` columns reveal) fills the ``service`` column where
    it is missing or null.
    """
    if _is_canonical(frame) and (service is None or not frame["service"].isna().any()):
        # Already conformed (a source's batch handed to the validator): a shallow copy keeps the
        # recorded cast failures and saves a full copy of every column.
        result = frame.copy(deep=False)
        result.attrs = {CAST_FAILURES_ATTR: dict(frame.attrs.get(CAST_FAILURES_ATTR, {}))}
        return result
    service = service or detect_service(frame.columns)
    # Canonical name -> source column, checked for ambiguity on the header alone: selecting the columns
    # from the frame itself would copy every one of them before the casts copy them again.
    rename_to_canonical(frame.iloc[:0])  # raises ValueError when two source columns claim one canonical column
    targets = {c: TLC_TO_CANONICAL.get(str(c), str(c)) for c in frame.columns}
    by_canonical = {target: c for c, target in targets.items() if target in CANONICAL_DTYPES}
    n_rows = len(frame)
    plain_index = frame.index.equals(pd.RangeIndex(n_rows))
    failures: dict[str, list[int]] = {}
    columns: dict[str, pd.Series] = {}
    for column, dtype in CANONICAL_DTYPES.items():
        if column in by_canonical:
            source = frame[by_canonical[column]]
            cast, failed = _cast(source if plain_index else source.reset_index(drop=True), dtype)
            if failed.any():
                failures[column] = np.flatnonzero(failed).tolist()
        else:
            cast = pd.Series(pd.array([None] * n_rows, dtype=_any(dtype)))
        columns[column] = cast
    if service is not None:
        columns["service"] = columns["service"].fillna(service)
    result = pd.DataFrame(columns, columns=CANONICAL_COLUMNS)
    previous = frame.attrs.get(CAST_FAILURES_ATTR, {})
    if previous and len(frame) == n_rows and frame.index.equals(pd.RangeIndex(n_rows)):
        # Re-conforming an already conformed table must not forget what the first cast lost.
        for column, positions in previous.items():
            failures[column] = sorted(set(failures.get(column, [])) | set(positions))
    result.attrs[CAST_FAILURES_ATTR] = failures
    return result


def _is_canonical(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` has exactly the canonical columns, in order, with the canonical dtypes, and a RangeIndex."""
    if list(frame.columns) != CANONICAL_COLUMNS or not frame.index.equals(pd.RangeIndex(len(frame))):
        return False
    return all(str(dtype) == CANONICAL_DTYPES[str(name)] for name, dtype in frame.dtypes.items())


def _any(dtype: str) -> Any:
    """A dtype name as pandas accepts it; the stubs only know literal names."""
    return dtype


def _cast(series: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray]:
    """Cast one column; return it and a boolean array of rows whose non-null value was lost."""
    if dtype in _INT_BOUNDS:
        return _to_int(series, dtype)
    if dtype == "float64":
        return _to_float(series)
    if dtype.startswith("datetime64"):
        return _to_datetime(series, dtype)
    if dtype == "string":
        return _to_string(series)
    raise TypeError(f"no cast defined for canonical dtype {dtype}")


def _present(series: pd.Series) -> np.ndarray:
    return series.notna().to_numpy(dtype=bool)


def _numeric(series: pd.Series) -> np.ndarray:
    """Values as float64 with NaN for nulls and for text that is not a number."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy()
    if not pd.api.types.is_numeric_dtype(series):
        as_text = series.astype("string").str.strip()
        series = pd.to_numeric(as_text, errors="coerce")
    return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")


def _to_int(series: pd.Series, dtype: Any) -> tuple[pd.Series, np.ndarray]:
    present = _present(series)
    values = _numeric(series)
    low, high = _INT_BOUNDS[dtype]
    with np.errstate(invalid="ignore"):
        # Only whole numbers inside the integer range survive; 1.5 passengers is a data error, not 1 or 2.
        ok = np.isfinite(values) & (values == np.floor(values)) & (values >= low) & (values <= high)
    ints = np.where(ok, values, 0).astype(_NUMPY_INT[dtype])
    cast = pd.Series(pd.arrays.IntegerArray(ints, mask=~ok))
    return cast.astype(dtype), present & ~ok


def _to_float(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    present = _present(series)
    values = _numeric(series)
    return pd.Series(values, dtype="float64"), present & np.isnan(values)


def _to_datetime(series: pd.Series, dtype: Any) -> tuple[pd.Series, np.ndarray]:
    present = _present(series)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        converted = _naive(series)
    elif pd.api.types.is_datetime64_dtype(series):
        converted = series
    else:
        converted = _parse_datetimes(series)
    try:
        cast = converted.astype(dtype)
    except (ValueError, OverflowError, TypeError):
        cast = pd.Series(pd.to_datetime(converted, errors="coerce")).astype(dtype)
    return cast.reset_index(drop=True), present & cast.isna().to_numpy(dtype=bool)


def _parse_datetimes(series: pd.Series) -> pd.Series:
    """Parse text timestamps: ISO first (fast, what TLC CSVs use), then any other format row by row."""
    text = series.astype("string").str.strip()
    parsed = _naive(pd.Series(pd.to_datetime(text, errors="coerce", format="ISO8601")))
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed = parsed.astype("datetime64[ns]")
        try:
            again = pd.to_datetime(text[retry], errors="coerce", format="mixed")
        except (ValueError, OverflowError, TypeError):
            again = pd.Series(pd.NaT, index=text[retry].index, dtype="datetime64[ns]")
        parsed.loc[retry] = _naive(pd.Series(again)).astype("datetime64[ns]")
    return parsed


def _naive(parsed: pd.Series) -> pd.Series:
    """TLC local time without a zone; text with a UTC offset is converted to New York time first."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert(TLC_TIMEZONE).dt.tz_localize(None)
    if parsed.dtype == object:
        # Mixed offsets come back as objects; go through UTC to get one zone.
        utc = pd.Series(pd.to_datetime(parsed, errors="coerce", utc=True))
        return utc.dt.tz_convert(TLC_TIMEZONE).dt.tz_localize(None)
    return parsed


def _to_string(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    cast = series.astype("string")
    return cast, np.zeros(len(series), dtype=bool)

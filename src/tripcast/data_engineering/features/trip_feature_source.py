"""TLC trip files as model features for drift monitoring: read only what the features need.

A drift check used to read a file whole, conform every one of its 20 columns (4 s for a
million rows, mostly building all-null pandas columns for the optional fields) and run the
whole validator. The features need only the five required columns, and every validation
rule reads only those, so for a parquet file whose columns already have TLC's native types
(timestamps, integer zone ids, float distance) this source reads those five columns with
pyarrow, applies the validator's own rule masks (:meth:`PanderaTripValidator.reason_masks`,
so the quarantine reasons and counts are the validator's) and builds features with the
builder the composition root chose (zone-store features included when enabled). Any other
file (CSV, text-typed or tz-aware columns, ids beyond int32) goes through the general path:
:func:`read_tlc_file` and :meth:`PanderaTripValidator.split`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.core.ports.drift import FeatureSample, FeatureSource
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.data_engineering.tlc.files import FILE_EXTENSIONS, month_from_file_name, read_tlc_file, tlc_file_name
from tripcast.data_engineering.tlc.schema import CANONICAL_DTYPES, DURATION_COLUMN, REQUIRED_COLUMNS, TLC_TO_CANONICAL
from tripcast.data_engineering.tlc.validation import PanderaTripValidator, duration_minutes

_MONTH = re.compile(r"^\d{4}-\d{2}$")


class TlcFeatureSource(FeatureSource):
    """Valid trips of TLC files (by path or by month of ``raw_path``) as ``features.spec`` features."""

    def __init__(self, raw_path: Path, service: str, validator: PanderaTripValidator, features: FeatureBuilder) -> None:
        self.raw_path = raw_path
        self.service = service
        self.validator = validator
        self.features = features
        self.spec: ModelSpec = features.spec

    def resolve(self, current: str) -> str:
        """A TLC file path, or a month (YYYY-MM) resolved to its file in the raw data folder."""
        if _MONTH.match(current):
            month = Month.parse(current, "current")
            for ext in FILE_EXTENSIONS:
                candidate = self.raw_path / tlc_file_name(self.service, month, ext)
                if candidate.is_file():
                    return str(candidate)
            raise NotFoundError(
                f"no {self.service} TLC file for {month} under {self.raw_path}; "
                f"run `tripcast ingest --month {month}` first or pass the file path"
            )
        if not Path(current).is_file():
            raise NotFoundError(f"current data {current!r} is neither a month (YYYY-MM) nor an existing file")
        return current

    def load(self, location: str, month: Month | None = None) -> FeatureSample:
        """Valid rows as features; pickup dates checked against ``month``, else the file name's month."""
        path = Path(location)
        month = month or month_from_file_name(path)
        required = read_required_columns(path)
        if required is None:
            valid, n_input, reasons = self._validate_whole_file(path, month)
        else:
            valid, n_input, reasons = self._validate_required(required, month)
        training = self.features.training_set(valid, name=path.stem)
        return FeatureSample(features=training.features, source=path.name, n_input=n_input, quarantined=reasons)

    def _validate_required(self, frame: pd.DataFrame, month: Month | None) -> tuple[pd.DataFrame, int, dict[str, int]]:
        masks = self.validator.reason_masks(frame, month)
        bad = np.zeros(len(frame), dtype=bool)
        for mask in masks.values():
            bad |= mask
        valid = frame.loc[~bad].reset_index(drop=True)
        valid[DURATION_COLUMN] = duration_minutes(valid).astype("float64")
        reasons = {reason: int(mask.sum()) for reason, mask in masks.items() if mask.any()}
        return valid, len(frame), reasons

    def _validate_whole_file(self, path: Path, month: Month | None) -> tuple[pd.DataFrame, int, dict[str, int]]:
        raw = read_tlc_file(path)
        # The validator reads the month only to add the pickup-inside-the-month rule; None leaves it out.
        outcome = self.validator.split(RawDataset(table=raw, month=month, source=str(path)))  # type: ignore[arg-type]
        return outcome.valid, len(raw), dict(outcome.reasons)


def read_required_columns(path: Path) -> pd.DataFrame | None:
    """The required canonical columns of a parquet TLC file whose types need no conversion, else None.

    None sends the caller to the general reader, which handles (and explains) everything else.
    """
    if not path.name.lower().endswith((".parquet", ".pq")):
        return None
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError):
        return None  # the general reader names the problem (truncated, corrupt...)
    sources: dict[str, str] = {}
    for name in names:
        canonical = TLC_TO_CANONICAL.get(name, name)
        if canonical in REQUIRED_COLUMNS:
            if canonical in sources:
                return None  # two columns claim one canonical column: the general reader refuses it
            sources[canonical] = name
    if set(sources) != set(REQUIRED_COLUMNS):
        return None
    table = pq.read_table(path, columns=[sources[c] for c in REQUIRED_COLUMNS])
    columns: dict[str, pd.Series] = {}
    for canonical, column in zip(REQUIRED_COLUMNS, table.columns, strict=True):
        converted = _native(column, CANONICAL_DTYPES[canonical])
        if converted is None:
            return None
        columns[canonical] = converted
    return pd.DataFrame(columns)


def _native(column: pa.ChunkedArray, dtype: str) -> pd.Series | None:
    """``column`` in the canonical ``dtype`` when that is a lossless conversion, else None."""
    kind = column.type
    if dtype.startswith("datetime64"):
        if not pa.types.is_timestamp(kind) or kind.tz is not None:
            return None
        return pd.Series(column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False), dtype=dtype)
    if dtype == "Int32":
        if not pa.types.is_integer(kind):
            return None
        try:
            narrowed = column.cast(pa.int32())  # safe cast: raises on values beyond int32
        except pa.ArrowInvalid:
            return None
        return narrowed.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)
    if dtype == "float64" and (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        return pd.Series(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    return None

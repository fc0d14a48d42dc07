"""Read one TLC trip file (parquet, CSV or CSV.gz, green or yellow, any year from 2019) in the canonical schema."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.casting import conform, detect_service, rename_to_canonical
from tripcast.data_engineering.tlc.errors import TlcFileError
from tripcast.data_engineering.tlc.schema import CANONICAL_DTYPES, REQUIRED_COLUMNS, SERVICES, TLC_TO_CANONICAL

__all__ = [
    "EARLIEST_SUPPORTED_MONTH",
    "FILE_EXTENSIONS",
    "TlcFileError",
    "check_supported_month",
    "month_from_file_name",
    "read_tlc_batches",
    "read_tlc_file",
    "service_from_file_name",
    "tlc_file_name",
]

#: The canonical schema covers TLC files from this month on (congestion_surcharge etc. appear in 2019).
EARLIEST_SUPPORTED_MONTH = Month(2019, 1)
#: Extensions a TLC month can be stored with, in order of preference.
FILE_EXTENSIONS = ("parquet", "csv", "csv.gz")

_NAME_PATTERN = re.compile(r"(?P<service>green|yellow)_tripdata_(?P<month>\d{4}-\d{2})", re.IGNORECASE)
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"


def check_supported_month(month: Month) -> Month:
    """Return ``month`` unchanged, or raise :class:`InvalidInputError` on ``month`` if before 2019-01."""
    if month < EARLIEST_SUPPORTED_MONTH:
        raise InvalidInputError(
            [FieldProblem("month", f"{month} is too early: TLC schema supported from {EARLIEST_SUPPORTED_MONTH}")]
        )
    return month


def check_service(service: str) -> str:
    """Return ``service`` unchanged, or raise :class:`InvalidInputError` naming the known services."""
    if service not in SERVICES:
        raise InvalidInputError([FieldProblem("service", f"{service!r} is not one of {', '.join(SERVICES)}")])
    return service


def tlc_file_name(service: str, month: Month | str, ext: str = "parquet") -> str:
    """TLC's file name for a month, e.g. ``green_tripdata_2021-01.parquet``."""
    if isinstance(month, str):
        month = Month.parse(month)
    check_service(service)
    check_supported_month(month)
    ext = ext.lstrip(".")
    if ext not in FILE_EXTENSIONS:
        raise InvalidInputError([FieldProblem("ext", f"{ext!r} is not one of {', '.join(FILE_EXTENSIONS)}")])
    return f"{service}_tripdata_{month}.{ext}"


def month_from_file_name(path: str | Path) -> Month | None:
    """The month a TLC file name states (``..._tripdata_2021-01...``), or None when it states none."""
    match = _NAME_PATTERN.search(Path(path).name)
    if match is None:
        return None
    try:
        return Month.parse(match.group("month"))
    except InvalidInputError:
        return None


def service_from_file_name(path: str | Path) -> str | None:
    """``green`` or ``yellow`` when the file name says so, else None."""
    match = _NAME_PATTERN.search(Path(path).name)
    return match.group("service").lower() if match else None


def read_tlc_file(path: str | Path, service: str | None = None) -> pd.DataFrame:
    """Read a TLC trip file into the canonical schema (column order, dtypes, ``service`` filled).

    The service comes from ``service`` if given, else from the timestamp column
    prefixes (``lpep_`` green, ``tpep_`` yellow), else from the file name. Values
    that cannot be cast become nulls and are recorded for validation (see
    :mod:`tripcast.data_engineering.tlc.casting`). Raises :class:`TlcFileError`
    for a missing, truncated, corrupt or unreadable file, and for missing
    required columns.
    """
    path = _existing(path, service)
    raw = _read_raw(path)
    return conform(raw, service=_checked_columns(path, list(raw.columns), service))


def read_tlc_batches(
    path: str | Path, service: str | None = None, batch_rows: int = 1_000_000
) -> Iterator[pd.DataFrame]:
    """:func:`read_tlc_file` in batches of at most ``batch_rows`` rows, each in the canonical schema.

    Memory holds one batch, whatever the file's size. Cast failures are recorded per batch
    (row positions within the batch). An empty file yields one empty batch, so callers
    always see the schema. The same errors as :func:`read_tlc_file`, raised on first use.
    """
    path = _existing(path, service)
    if _file_kind(path) == "parquet":
        raw_batches = _parquet_batches(path, batch_rows)
    else:
        raw_batches = _csv_batches(path, batch_rows, compressed=_file_kind(path) == "csv.gz")
    header = next(raw_batches)  # read before any data, so a file of the wrong kind fails at once
    resolved = _checked_columns(path, list(header.columns), service)
    empty = True
    for raw in raw_batches:
        if raw.empty:
            continue
        empty = False
        yield conform(raw, service=resolved)
    if empty:
        yield conform(header, service=resolved)


def _existing(path: str | Path, service: str | None) -> Path:
    path = Path(path)
    if not path.is_file():
        raise TlcFileError(f"{path}: file not found")
    if service is not None:
        check_service(service)
    return path


def _checked_columns(path: Path, columns: list[str], service: str | None) -> str:
    """The file's service, after checking its columns: known service, unambiguous, required ones present."""
    by_columns = detect_service(columns)
    if service is not None and by_columns is not None and service != by_columns:
        raise TlcFileError(f"{path}: asked for {service} trips but the columns are {by_columns} ({by_columns[0]}pep_*)")
    resolved = service or by_columns or service_from_file_name(path)
    if resolved is None:
        raise TlcFileError(
            f"{path}: cannot tell green from yellow trips (no lpep_/tpep_ columns, no service in the file name); "
            "pass the service explicitly"
        )
    try:
        present = set(rename_to_canonical(pd.DataFrame(columns=columns)).columns)
    except ValueError as exc:
        raise TlcFileError(f"{path}: ambiguous columns: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise TlcFileError(
            f"{path}: missing required columns {missing} (found {[str(c) for c in columns]}); "
            "is this a TLC green/yellow trip file?"
        )
    return resolved


def _read_raw(path: Path) -> pd.DataFrame:
    kind = _file_kind(path)
    if kind == "parquet":
        return _read_parquet(path)
    return _read_csv(path, compressed=kind == "csv.gz")


def _file_kind(path: Path) -> str:
    """``parquet``, ``csv`` or ``csv.gz`` by name, falling back to the first bytes for unknown names."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv.gz"):
        return "csv.gz"
    if name.endswith(".csv"):
        return "csv"
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == _PARQUET_MAGIC:
        return "parquet"
    return "csv.gz" if head[:2] == _GZIP_MAGIC else "csv"


def _corrupt_parquet(path: Path, exc: Exception) -> TlcFileError:
    size = path.stat().st_size
    return TlcFileError(
        f"{path}: truncated or corrupt parquet file ({size:,} bytes): {exc}. Delete it and download it again."
    )


def _wanted_columns(names: list[str]) -> list[str]:
    # Only the columns the canonical schema uses: yellow months hold millions of rows.
    return [n for n in names if TLC_TO_CANONICAL.get(n, n) in CANONICAL_DTYPES] or names


_TEXT_AS_STRING = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Columns of arrow type null (ehail_fee) come out as object Nones; canonical casting handles the rest.
    # Text straight into pandas' string dtype (the canonical one): going through Python objects first cost
    # more than the validation rules themselves.
    return table.to_pandas(
        timestamp_as_object=False, coerce_temporal_nanoseconds=False, types_mapper=_TEXT_AS_STRING.get
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path, columns=_wanted_columns(pq.read_schema(path).names))
    except (pa.ArrowException, OSError) as exc:
        raise _corrupt_parquet(path, exc) from exc
    return _to_pandas(table)


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    try:
        handle = pq.ParquetFile(path)
        columns = _wanted_columns(handle.schema_arrow.names)
        schema = pa.schema([handle.schema_arrow.field(name) for name in columns])
        yield _to_pandas(schema.empty_table())  # the header alone: checked before any data is read
        for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
            yield _to_pandas(pa.Table.from_batches([batch], schema=schema))
    except (pa.ArrowException, OSError) as exc:
        raise _corrupt_parquet(path, exc) from exc


def _csv_batches(path: Path, batch_rows: int, *, compressed: bool) -> Iterator[pd.DataFrame]:
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "compression": "gzip" if compressed else None,
        "encoding_errors": "strict",
    }
    try:
        yield pd.read_csv(path, nrows=0, **options)  # the header alone, like the parquet reader
        with pd.read_csv(path, chunksize=batch_rows, **options) as reader:
            for chunk in reader:
                yield chunk.reset_index(drop=True)
    except pd.errors.EmptyDataError as exc:
        raise TlcFileError(f"{path}: empty CSV file, no header") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
        raise TlcFileError(f"{path}: unreadable CSV file: {exc}") from exc


def _read_csv(path: Path, *, compressed: bool) -> pd.DataFrame:
    try:
        # Everything as text: the canonical cast decides, column by column, what each value means.
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            compression="gzip" if compressed else None,
            encoding_errors="strict",
        )
    except pd.errors.EmptyDataError as exc:
        raise TlcFileError(f"{path}: empty CSV file, no header") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
        raise TlcFileError(f"{path}: unreadable CSV file: {exc}") from exc

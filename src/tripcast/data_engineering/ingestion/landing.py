"""The raw landing area: trips pulled from databases, APIs and streams, as TLC-named parquet month files.

Each month being written streams into a temporary file beside its final name (``pyarrow`` writer, one row
group per batch: memory stays at one batch); :meth:`ParquetLandingStore.commit` fsyncs and renames them into
place, so ``tripcast validate`` sees the old file or the complete new one, never half of one. Files land in the
canonical trip schema under TLC's name (``green_tripdata_2021-01.parquet``), which the TLC loader reads as is.

A month given by the caller is replaced (a rerun pulls the month again); without one (a stream, a
watermarked table), trips go to their pickup month's file and are appended to what already landed there.
A value that could not be cast (``"abc"`` miles) cannot be landed faithfully: its row is rejected with the
validator's reason, ``wrong_type_<column>``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.errors import InvalidInputError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.ingest import LandedFile, RejectedRecord
from tripcast.data_engineering.tlc.casting import CAST_FAILURES_ATTR
from tripcast.data_engineering.tlc.download import file_sha256, write_sidecar
from tripcast.data_engineering.tlc.files import check_supported_month, read_tlc_file, tlc_file_name
from tripcast.durable_files import fsync_directory, fsync_file

#: Parquet schema metadata key marking a file this store landed (and may therefore replace or append to).
LANDED_MARK = b"tripcast.landed"


class LandingRefusedError(TripcastError):
    """The month's file in the raw folder is not one the landing store wrote; it is left alone."""


@dataclass
class _OpenMonth:
    """A month file being written: its temporary path, writer and row count."""

    dest: Path
    tmp: Path
    writer: pq.ParquetWriter | None = None
    rows: int = 0
    carried: int = 0  # rows copied from the month's file already landed (appending)
    schema: pa.Schema | None = field(default=None)


class ParquetLandingStore:
    """Lands canonical trips in ``raw_dir`` and rejected records under ``rejected_dir`` (JSON lines)."""

    def __init__(self, raw_dir: Path, rejected_dir: Path, service: str = "green") -> None:
        self.raw_dir = Path(raw_dir)
        self.rejected_dir = Path(rejected_dir)
        self.service = service
        self._open: dict[Month, _OpenMonth] = {}
        self._records_seen = 0

    def write(self, month: Month | None, table: pd.DataFrame) -> list[RejectedRecord]:
        """Add ``table``'s trips to their month's temporary file; return the rows that cannot be landed."""
        first = self._records_seen
        self._records_seen += len(table)
        keep, rejected = _castable_rows(table, first)
        trips = table[keep]
        if month is not None:
            self._append(month, trips, replace=True)
            return rejected
        pickup_months = trips["pickup_datetime"].dt.to_period("M")
        unknown = pickup_months.isna().to_numpy()
        positions = [first + int(i) for i in keep.to_numpy().nonzero()[0]]
        rejected += [RejectedRecord(f"record {positions[i]}", "missing_pickup_datetime") for i in unknown.nonzero()[0]]
        for period, rows in trips[~unknown].groupby(pickup_months[~unknown], sort=True):
            try:
                target = check_supported_month(Month(period.year, period.month))
            except InvalidInputError:  # a pickup in 1970 or 2090: no month file can hold it
                at = trips.index.get_indexer(rows.index)
                rejected += [RejectedRecord(f"record {positions[i]}", "pickup_month_unsupported") for i in at]
                continue
            self._append(target, rows, replace=False)
        return rejected

    def _append(self, month: Month, trips: pd.DataFrame, *, replace: bool) -> None:
        if not len(trips):
            return
        opened = self._open.get(month)
        if opened is None:
            opened = self._open_month(month)
            if not replace and opened.dest.is_file():  # a stream adds to what already landed for the month
                self._write_rows(opened, read_tlc_file(opened.dest, self.service))
                opened.carried = opened.rows
        self._write_rows(opened, trips)

    def _open_month(self, month: Month) -> _OpenMonth:
        dest = self.raw_dir / tlc_file_name(self.service, month)
        _refuse_foreign_file(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".landing", dir=dest.parent)
        os.close(handle)
        opened = _OpenMonth(dest, Path(tmp_name))
        self._open[month] = opened
        return opened

    @staticmethod
    def _write_rows(opened: _OpenMonth, trips: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(trips.reset_index(drop=True), schema=opened.schema, preserve_index=False)
        if opened.writer is None:
            opened.schema = table.schema.with_metadata({**(table.schema.metadata or {}), LANDED_MARK: b"1"})
            opened.writer = pq.ParquetWriter(opened.tmp, opened.schema)
            table = table.replace_schema_metadata(opened.schema.metadata)
        opened.writer.write_table(table)
        opened.rows += len(trips)

    def commit(self) -> list[LandedFile]:
        """Publish every month written since the last commit (fsync, rename, checksum sidecar)."""
        landed = []
        for month, opened in sorted(self._open.items()):
            if opened.writer is None:
                opened.tmp.unlink(missing_ok=True)
                continue
            opened.writer.close()
            fsync_file(opened.tmp)
            digest = file_sha256(opened.tmp)
            os.replace(opened.tmp, opened.dest)
            fsync_directory(opened.dest.parent)
            write_sidecar(opened.dest, digest)  # a stale sidecar from a downloaded file would fail validation
            landed.append(LandedFile(month, str(opened.dest), opened.rows - opened.carried, opened.rows))
        self._open.clear()
        return landed

    def abort(self) -> None:
        """Drop the temporary files; landed files are untouched."""
        for opened in self._open.values():
            if opened.writer is not None:
                opened.writer.close()
            opened.tmp.unlink(missing_ok=True)
        self._open.clear()

    def save_rejected(self, source: str, rejected: Sequence[RejectedRecord]) -> str:
        """``<rejected_dir>/ingest-<UTC time>.jsonl``: one ``{source, record_id, reason}`` per line."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.rejected_dir / f"ingest-{stamp}.jsonl"
        lines = [json.dumps({"source": source, "record_id": r.record_id, "reason": r.reason}) for r in rejected]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        fsync_file(tmp)
        os.replace(tmp, path)
        return str(path)


def _refuse_foreign_file(dest: Path) -> None:
    """Refuse to replace or append to a month file this store did not land (a TLC download, shared data)."""
    if not dest.exists():
        return
    try:
        metadata = pq.read_schema(dest).metadata or {}
    except (pa.ArrowException, OSError):
        metadata = {}
    if LANDED_MARK not in metadata:
        raise LandingRefusedError(
            f"{dest} exists and was not landed by `tripcast ingest --from ...` (a TLC file?): refusing to replace "
            "or append to it. Move it away, or point TRIPCAST_RAW_DIR at a folder of your own."
        )


def _castable_rows(table: pd.DataFrame, first: int) -> tuple[pd.Series, list[RejectedRecord]]:
    """Which rows hold only castable values, and a rejection per row that does not (first column at fault)."""
    failures: dict[str, list[int]] = table.attrs.get(CAST_FAILURES_ATTR, {})
    reason_of: dict[int, str] = {}
    for column, positions in failures.items():
        for position in positions:
            reason_of.setdefault(int(position), f"wrong_type_{column}")
    keep = pd.Series(True, index=table.index)
    if reason_of:
        keep.iloc[sorted(reason_of)] = False
    rejected = [RejectedRecord(f"record {first + p}", reason) for p, reason in sorted(reason_of.items())]
    return keep, rejected

"""Processed and quarantined trips as one parquet file per month, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.errors import NotFoundError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import MonthDatasetStore, ValidationOutcome
from tripcast.data_engineering.tlc.files import check_service
from tripcast.durable_files import describe_os_error, fsync_directory, fsync_file


class ParquetDatasetStore(MonthDatasetStore):
    """``{processed_dir,quarantine_dir}/{service}_tripdata_{month}.parquet``.

    Writes go to a temporary file in the same folder, are flushed to disk and moved
    into place with ``os.replace``, so a reader never sees half a file and a crash
    (even a SIGKILL or a power cut) leaves the previous version intact; a full disk
    is a :class:`DatasetWriteError` naming the file, and leaves no partial file.
    """

    def __init__(self, processed_dir: Path, quarantine_dir: Path, service: str = "green") -> None:
        self.processed_dir = Path(processed_dir)
        self.quarantine_dir = Path(quarantine_dir)
        self.service = check_service(service)

    def file_name(self, month: Month) -> str:
        """The file name used in both folders."""
        return f"{self.service}_tripdata_{month}.parquet"

    def processed_path(self, month: Month) -> Path:
        return self.processed_dir / self.file_name(month)

    def quarantine_path(self, month: Month) -> Path:
        return self.quarantine_dir / self.file_name(month)

    def save_processed(self, month: Month, table: pd.DataFrame) -> str:
        """Store the valid rows of ``month``; return the file path."""
        return str(_write_atomically(table, self.processed_path(month)))

    def save_quarantine(self, month: Month, table: pd.DataFrame) -> str:
        """Store the quarantined rows (with their reason column); return the file path."""
        return str(_write_atomically(table, self.quarantine_path(month)))

    def load_processed(self, month: Month) -> pd.DataFrame:
        """The valid rows saved for ``month``; :class:`NotFoundError` says how to produce them."""
        path = self.processed_path(month)
        if not path.is_file():
            raise NotFoundError(
                f"no processed {self.service} trips for {month} (looked for {path}); "
                f"run `tripcast validate --month {month}` first"
            )
        return pd.read_parquet(path)

    def load_quarantine(self, month: Month) -> pd.DataFrame:
        """The quarantined rows saved for ``month``."""
        path = self.quarantine_path(month)
        if not path.is_file():
            raise NotFoundError(
                f"no quarantined {self.service} trips for {month} (looked for {path}); "
                f"run `tripcast validate --month {month}` first"
            )
        return pd.read_parquet(path)

    def has_processed(self, month: Month) -> bool:
        """Whether ``month`` was processed already."""
        return self.processed_path(month).is_file()

    def load_processed_months(self, months: Sequence[Month]) -> pd.DataFrame:
        """The valid rows of ``months`` as one frame, in order (a training window)."""
        return pd.concat([self.load_processed(month) for month in months], ignore_index=True)

    def open_month(self, month: Month) -> ParquetMonthWriter:
        """A writer that appends batches to temporary files and publishes both on commit."""
        return ParquetMonthWriter(self.processed_path(month), self.quarantine_path(month))


class _BatchFile:
    """One output written batch by batch to a temporary file next to its final path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        # Every batch has the canonical dtypes, so the first batch's schema fits them all; an empty batch
        # is written too, so a month without quarantined rows still has a file with the schema.
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            os.close(handle)
            self.tmp, self._schema = Path(name), table.schema
            self._writer = pq.ParquetWriter(self.tmp, table.schema)
        self._writer.write_table(table)

    def close(self) -> Path:
        """Finish the temporary file and flush it to disk; return it."""
        if self._writer is None or self.tmp is None:
            raise RuntimeError(f"{self.path}: nothing was written, not even the schema")
        self._writer.close()
        self._writer = None
        fsync_file(self.tmp)
        return self.tmp

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


class ParquetMonthWriter:
    """Writes a month's validated batches; readers see the old files until :meth:`commit` renames the new ones.

    A crash or an error mid-month leaves only hidden temporary files, which :meth:`abort` removes.
    """

    def __init__(self, processed: Path, quarantine: Path) -> None:
        self._processed = _BatchFile(processed)
        self._quarantine = _BatchFile(quarantine)

    def write(self, outcome: ValidationOutcome) -> None:
        """Append one batch's valid and quarantined rows."""
        for part, frame in ((self._processed, outcome.valid), (self._quarantine, outcome.quarantined)):
            try:
                part.write(frame)
            except OSError as exc:
                raise DatasetWriteError(
                    f"cannot write {part.path}: {describe_os_error(exc)}; the previous file, if any, is unchanged"
                ) from exc

    def commit(self) -> tuple[str, str]:
        """Publish both files (rename over the old ones); return their paths."""
        try:
            for part in (self._processed, self._quarantine):
                try:
                    os.replace(part.close(), part.path)
                except OSError as exc:
                    raise DatasetWriteError(
                        f"cannot write {part.path}: {describe_os_error(exc)}; the previous file, if any, is unchanged"
                    ) from exc
        finally:
            self.abort()
        for folder in {self._processed.path.parent, self._quarantine.path.parent}:
            fsync_directory(folder)  # make the renames themselves durable
        return str(self._processed.path), str(self._quarantine.path)

    def abort(self) -> None:
        """Remove the temporary files; the published files stay as they were."""
        self._processed.discard()
        self._quarantine.discard()


class DatasetWriteError(TripcastError):
    """A dataset file could not be written (disk full, no permission); the previous file is kept."""


def _write_atomically(table: pd.DataFrame, path: Path) -> Path:
    """Write ``path`` so that, whatever happens (SIGKILL, power loss, a full disk), it holds the old
    file or the complete new one: a temporary file in the same folder, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        table.to_parquet(tmp, index=False)
        fsync_file(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        reason = describe_os_error(exc)
        raise DatasetWriteError(f"cannot write {path}: {reason}; the previous file, if any, is unchanged") from exc
    finally:
        tmp.unlink(missing_ok=True)
    fsync_directory(path.parent)  # make the rename itself durable
    return path

"""Output files of batch scoring: never the input, and never seen half-written.

A scored file is written under a hidden temporary name in its own folder, flushed to disk, and only
then renamed to its final name (``os.replace``, atomic within a file system). A crash or SIGKILL at any
moment leaves either the previous file or the complete new one under the final name, never a
truncated parquet that looks valid; a failed write (disk full) removes its temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError
from tripcast.core.ports.batch_scoring import CheckedBatch, ScoringPlan
from tripcast.durable_files import describe_os_error, fsync_directory, fsync_file
from tripcast.mlops.serving.batch.schema import QUARANTINE_SCHEMA, SCORED_SCHEMA

#: Suffix of the temporary files; not one of the input suffixes, so a directory scan never reads one.
PARTIAL_SUFFIX = ".partial"


class OutputWriteError(TripcastError):
    """An output file could not be written (disk full, no permission); the message names the file."""


def refuse_overwriting_inputs(input_path: Path, input_files: Iterable[Path], outputs: Iterable[Path]) -> None:
    """Refuse outputs that are an input file, the same file as another output, or inside an input folder.

    Paths are compared resolved (symlinks, ``..``) and, when both exist, by inode (hard links).
    """
    inputs = [path.resolve() for path in input_files]
    folder = input_path.resolve() if input_path.is_dir() else None
    seen: dict[Path, str] = {}
    for name, output in zip(("output", "quarantine"), outputs, strict=False):
        resolved = output.resolve()
        if resolved.is_dir():
            _refuse(name, f"{output} is a directory; give a .parquet file name")
        if any(resolved == source or _same_file(resolved, source) for source in inputs):
            _refuse(name, f"{output} is an input file; scoring would overwrite what it reads")
        if folder is not None and folder in resolved.parents:
            _refuse(name, f"{output} is inside the input folder {input_path}; write it elsewhere")
        if resolved in seen:
            _refuse(name, f"{output} is also the {seen[resolved]} file")
        seen[resolved] = name


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _refuse(name: str, problem: str) -> None:
    raise InvalidInputError([FieldProblem(name, problem)])


class AtomicParquetWriter:
    """Writes tables to a temporary file; :meth:`commit` moves it, complete and on disk, under its name."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
        os.close(handle)
        self.tmp = Path(tmp_name)
        try:
            self._writer = pq.ParquetWriter(self.tmp, schema)
        except OSError as exc:
            self.tmp.unlink(missing_ok=True)
            raise self._error(exc) from exc

    def write_table(self, table: pa.Table) -> None:
        try:
            self._writer.write_table(table)
        except OSError as exc:
            raise self._error(exc) from exc

    def commit(self) -> None:
        """Close, flush to disk, rename into place (atomic), and make the rename durable."""
        try:
            self._writer.close()
            fsync_file(self.tmp)
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise self._error(exc) from exc
        fsync_directory(self.path.parent)

    def discard(self) -> None:
        """Drop the temporary file (after a failure); the final name keeps what it had."""
        with suppress(OSError):  # the file is being thrown away; a full disk must not hide the first error
            self._writer.close()
        self.tmp.unlink(missing_ok=True)

    def _error(self, exc: OSError) -> OutputWriteError:
        return OutputWriteError(f"cannot write {self.path}: {describe_os_error(exc)}")


@contextmanager
def atomic_parquet_writer(path: Path, schema: pa.Schema) -> Iterator[AtomicParquetWriter]:
    """A parquet writer whose file appears under ``path`` only once it is complete and on disk."""
    writer = AtomicParquetWriter(path, schema)
    try:
        yield writer
        writer.commit()
    finally:
        writer.discard()


class ParquetScoredWriter:
    """Appends checked batches to the scored and quarantine parquet files of one run."""

    def __init__(
        self, scored: AtomicParquetWriter, quarantine: AtomicParquetWriter, model_name: str, model_version: str
    ) -> None:
        self.scored = scored
        self.quarantine = quarantine
        self.model_name = model_name
        self.model_version = model_version

    def write(self, checked: CheckedBatch, minutes: Any) -> None:
        """The valid rows with their predicted minutes and the model version; the refused rows as they are."""
        rows = checked.valid_rows
        predicted = pa.array(np.asarray(minutes, dtype=np.float64).reshape(-1), pa.float64())
        if len(predicted) != rows:
            raise ValueError(f"{len(predicted)} predictions for {rows} rows")
        scored = (
            checked.valid.append_column("predicted_minutes", predicted)
            .append_column("model_name", pa.repeat(self.model_name, rows))
            .append_column("model_version", pa.repeat(self.model_version, rows))
        )
        self.scored.write_table(scored.cast(SCORED_SCHEMA))
        self.quarantine.write_table(checked.refused)


class ParquetScoredSink:
    """Scored rows and refused rows as two parquet files, each written atomically (see the module doc)."""

    @contextmanager
    def open(self, plan: ScoringPlan, model_name: str, model_version: str) -> Iterator[ParquetScoredWriter]:
        """Both files appear under their names only when the block completes; a failure leaves the old ones."""
        with (
            atomic_parquet_writer(plan.output, SCORED_SCHEMA) as scored,
            atomic_parquet_writer(plan.quarantine, QUARANTINE_SCHEMA) as quarantine,
        ):
            yield ParquetScoredWriter(scored, quarantine, model_name, model_version)

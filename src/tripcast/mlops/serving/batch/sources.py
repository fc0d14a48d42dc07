"""Read trip files chunk by chunk (parquet row batches, CSV blocks) without loading a whole file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError, TripcastError
from tripcast.core.ports.batch_scoring import ScoringPlan, TripBatch
from tripcast.mlops.serving.batch.outputs import refuse_overwriting_inputs
from tripcast.mlops.serving.batch.schema import REQUEST_FIELDS

SUFFIXES = (".parquet", ".csv", ".csv.gz")


class UnreadableInputError(TripcastError):
    """An input file is truncated, corrupt or not in its format; the message names the file and the problem."""


def _unreadable(path: Path, exc: Exception) -> UnreadableInputError:
    kind = "parquet" if _kind(path) == ".parquet" else "CSV"
    detail = " ".join(str(exc).split())[:200]
    return UnreadableInputError(f"{path}: not a readable {kind} file (truncated or corrupt?): {detail}")


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in SUFFIXES if name.endswith(s)), None)


def input_files(path: str | Path) -> list[Path]:
    """The file itself, or every parquet/CSV file in a directory (sorted); NotFoundError when none."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and _kind(p))
        if not found:
            raise NotFoundError(f"{path}: no {', '.join(SUFFIXES)} files to score")
        return found
    if not path.exists():
        raise NotFoundError(f"{path}: no such file or directory")
    if _kind(path) is None:
        raise InvalidInputError([FieldProblem("input", f"{path.name}: expected one of {', '.join(SUFFIXES)}")])
    return [path]


def count_rows(path: Path) -> int | None:
    """Rows in the file when its metadata says so cheaply (parquet), else None."""
    if _kind(path) == ".parquet":
        return int(_open_parquet(path).metadata.num_rows)
    return None


def _open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from None


def iter_chunks(
    path: Path, wanted: list[str], aliases: Mapping[str, str], chunk_rows: int = 50_000
) -> Iterator[pa.Table]:
    """Tables of at most ``chunk_rows`` rows holding the ``wanted`` columns present (renamed via ``aliases``).

    A truncated or corrupt file raises :class:`UnreadableInputError` naming it, wherever the damage is.
    """
    try:
        yield from _chunks(path, wanted, aliases, chunk_rows)
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _unreadable(path, exc) from None


def _chunks(path: Path, wanted: list[str], aliases: Mapping[str, str], chunk_rows: int) -> Iterator[pa.Table]:
    kind = _kind(path)
    if kind == ".parquet":
        parquet = _open_parquet(path)
        names = parquet.schema_arrow.names
        columns = [c for c in names if aliases.get(c, c) in wanted]
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
            yield _renamed(pa.Table.from_batches([batch]), aliases)
        return
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 22),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
    )
    for batch in reader:
        table = _renamed(pa.Table.from_batches([batch]), aliases)
        keep = [c for c in table.column_names if c in wanted]
        table = table.select(keep)
        for start in range(0, table.num_rows, chunk_rows):
            yield table.slice(start, chunk_rows)


def _renamed(table: pa.Table, aliases: Mapping[str, str]) -> pa.Table:
    return table.rename_columns([aliases.get(c, c) for c in table.column_names])


class FileScoringSource:
    """Parquet/CSV trip files (one file or a folder of them), source columns renamed through ``aliases``."""

    def __init__(self, aliases: Mapping[str, str] | None = None, wanted: Sequence[str] = REQUEST_FIELDS) -> None:
        self.aliases = dict(aliases or {})
        self.wanted = list(wanted)

    def plan(self, input_path: Path, output: Path, quarantine: Path | None) -> ScoringPlan:
        """The input files and both outputs (quarantine defaults to ``<output stem>.quarantine.parquet``).

        Refuses outputs that would overwrite an input and parquet inputs whose footer cannot be read;
        cheap (footers only), so a command checks its arguments before loading a model.
        """
        files = input_files(input_path)
        output = Path(output)
        quarantine = Path(quarantine) if quarantine else output.with_name(f"{output.stem}.quarantine.parquet")
        refuse_overwriting_inputs(Path(input_path), files, [output, quarantine])
        totals = [count_rows(path) for path in files]
        known = [t for t in totals if t is not None]
        total = sum(known) if len(known) == len(totals) else None
        return ScoringPlan(Path(input_path), tuple(files), output, quarantine, total)

    def batches(self, plan: ScoringPlan, chunk_rows: int) -> Iterator[TripBatch]:
        """Each file's rows in order, at most ``chunk_rows`` per batch, numbered from 0 per file."""
        for path in plan.files:
            first_row = 0
            for chunk in iter_chunks(path, self.wanted, self.aliases, chunk_rows):
                yield TripBatch(path.name, first_row, chunk.num_rows, chunk)
                first_row += chunk.num_rows

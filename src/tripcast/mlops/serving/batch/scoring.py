"""Score trip files: chunked reads, row validation with reasons, parquet out with the model version.

Every input row ends up in exactly one of the two outputs: the scored file (with its predicted minutes,
the model name and version) or the quarantine file (with the reasons it was refused), each carrying the
row's position in its source file so nothing is silently dropped and everything can be traced back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tripcast.core.domain.errors import FieldProblem
from tripcast.core.domain.trip import TripRequest, trip_problems
from tripcast.core.ports.learning import Predictor
from tripcast.mlops.serving.batch.outputs import atomic_parquet_writer, refuse_overwriting_inputs
from tripcast.mlops.serving.batch.sources import count_rows, input_files, iter_chunks

REQUEST_FIELDS = ["pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count"]
REQUIRED_FIELDS = REQUEST_FIELDS[:4]
REASON_COLUMN = "quarantine_reason"

#: Checks one row (request field -> value); returns what is wrong, empty when valid.
RowValidator = Callable[[dict[str, Any]], list[FieldProblem]]

SCORED_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("pickup_datetime", pa.timestamp("us")),
        ("pickup_zone", pa.int32()),
        ("dropoff_zone", pa.int32()),
        ("trip_distance", pa.float64()),
        ("vendor_id", pa.int32()),
        ("passenger_count", pa.int32()),
        ("predicted_minutes", pa.float64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [("source_file", pa.string()), ("source_row", pa.int64())]
    + [(name, pa.string()) for name in REQUEST_FIELDS]
    + [(REASON_COLUMN, pa.string())]
)


def request_problems(row: dict[str, Any]) -> list[FieldProblem]:
    """The core's trip rules for one row (the same rules the HTTP API applies)."""
    return trip_problems(**{name: row.get(name) for name in REQUEST_FIELDS})


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """Counts and locations of one scoring run; ``input_rows == scored_rows + quarantined_rows``."""

    input_rows: int
    scored_rows: int
    quarantined_rows: int
    output: Path
    quarantine: Path
    model_name: str
    model_version: str
    seconds: float
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.input_rows / self.seconds if self.seconds > 0 else float("inf")


def _normalise(value: Any) -> Any:
    # CSV readers give floats for integer columns with gaps; 74.0 is the zone 74, 74.5 is not a zone.
    if isinstance(value, float) and not math.isnan(value) and value.is_integer() and abs(value) < 2**31:
        return int(value)
    return value


def plan_outputs(
    input_path: str | Path, output: str | Path, quarantine: str | Path | None = None
) -> tuple[list[Path], Path, Path]:
    """The input files and both output paths; refuses outputs that would overwrite an input, and
    parquet inputs whose footer cannot be read (truncated or corrupt).

    Cheap (no model needed), so a command can check its arguments before loading anything.
    """
    files = input_files(input_path)
    output = Path(output)
    quarantine = Path(quarantine) if quarantine else output.with_name(f"{output.stem}.quarantine.parquet")
    refuse_overwriting_inputs(Path(input_path), files, [output, quarantine])
    for path in files:
        count_rows(path)
    return files, output, quarantine


def score_file(
    input_path: str | Path,
    output: str | Path,
    predictor: Predictor,
    *,
    quarantine: str | Path | None = None,
    column_aliases: Mapping[str, str] | None = None,
    validator: RowValidator = request_problems,
    chunk_rows: int = 50_000,
    show_progress: bool = True,
    console: Console | None = None,
) -> ScoreReport:
    """Score a file or a directory of parquet/CSV trip files into ``output`` (parquet).

    ``column_aliases`` renames source columns to request fields (e.g. ``PULocationID`` -> ``pickup_zone``).
    Rows breaking ``validator`` go to ``quarantine`` (default ``<output stem>.quarantine.parquet``).
    Memory stays bounded by ``chunk_rows`` whatever the input size. Outputs that would overwrite an
    input are refused; both outputs appear under their names only when complete (see :mod:`.outputs`),
    so a crash leaves the previous files, and the inputs, as they were.
    """
    files, output, quarantine = plan_outputs(input_path, output, quarantine)
    aliases = dict(column_aliases or {})
    totals = [count_rows(f) for f in files]
    total = sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None
    started = time.perf_counter()
    counts = {"input": 0, "scored": 0, "quarantined": 0}
    reasons: dict[str, int] = {}
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not show_progress,
        transient=False,
    )
    with (
        atomic_parquet_writer(output, SCORED_SCHEMA) as scored_out,
        atomic_parquet_writer(quarantine, QUARANTINE_SCHEMA) as quarantine_out,
        progress,
    ):
        task = progress.add_task(f"scoring with {predictor.model_name} v{predictor.model_version}", total=total)
        for path in files:
            offset = 0
            for chunk in iter_chunks(path, REQUEST_FIELDS, aliases, chunk_rows):
                good, bad = _score_chunk(chunk, path.name, offset, predictor, validator, reasons)
                scored_out.write_table(good)
                quarantine_out.write_table(bad)
                offset += chunk.num_rows
                counts["input"] += chunk.num_rows
                counts["scored"] += good.num_rows
                counts["quarantined"] += bad.num_rows
                progress.advance(task, chunk.num_rows)
    return ScoreReport(
        counts["input"],
        counts["scored"],
        counts["quarantined"],
        output,
        quarantine,
        predictor.model_name,
        predictor.model_version,
        time.perf_counter() - started,
        reasons,
    )


def _score_chunk(
    chunk: pa.Table,
    source: str,
    offset: int,
    predictor: Predictor,
    validator: RowValidator,
    reasons: dict[str, int],
) -> tuple[pa.Table, pa.Table]:
    n = chunk.num_rows
    columns = {
        name: chunk.column(name).to_pylist() if name in chunk.column_names else [None] * n for name in REQUEST_FIELDS
    }
    missing_columns = [name for name in REQUIRED_FIELDS if name not in chunk.column_names]
    valid_rows: list[int] = []
    requests: list[TripRequest] = []
    refused: list[tuple[int, str]] = []
    for i in range(n):
        row = {name: _normalise(values[i]) for name, values in columns.items()}
        if isinstance(row["pickup_datetime"], datetime) and row["pickup_datetime"].tzinfo is not None:
            row["pickup_datetime"] = row["pickup_datetime"].replace(tzinfo=None)
        problems = validator(row)
        if problems:
            if missing_columns:
                problems = [FieldProblem(c, "column missing from the input file") for c in missing_columns]
            for p in problems:
                reasons[p.field] = reasons.get(p.field, 0) + 1
            refused.append((i, "; ".join(str(p) for p in problems)))
            continue
        valid_rows.append(i)
        requests.append(
            TripRequest(
                row["pickup_datetime"],
                row["pickup_zone"],
                row["dropoff_zone"],
                float(row["trip_distance"]),
                row["vendor_id"],
                row["passenger_count"],
            )
        )
    minutes = predictor.predict_trips(requests) if requests else []
    good = pa.table(
        {
            "source_file": [source] * len(valid_rows),
            "source_row": [offset + i for i in valid_rows],
            "pickup_datetime": [r.pickup_datetime for r in requests],
            "pickup_zone": [r.pickup_zone for r in requests],
            "dropoff_zone": [r.dropoff_zone for r in requests],
            "trip_distance": [r.trip_distance for r in requests],
            "vendor_id": [r.vendor_id for r in requests],
            "passenger_count": [r.passenger_count for r in requests],
            "predicted_minutes": [float(m) for m in minutes],
            "model_name": [predictor.model_name] * len(valid_rows),
            "model_version": [predictor.model_version] * len(valid_rows),
        },
        schema=SCORED_SCHEMA,
    )
    bad_columns: dict[str, list[Any]] = {
        "source_file": [source] * len(refused),
        "source_row": [offset + i for i, _ in refused],
    }
    for name in REQUEST_FIELDS:
        values = columns[name]
        bad_columns[name] = [None if values[i] is None else str(values[i]) for i, _ in refused]
    bad_columns[REASON_COLUMN] = [reason for _, reason in refused]
    return good, pa.table(bad_columns, schema=QUARANTINE_SCHEMA)

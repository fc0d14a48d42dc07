"""``tripcast score``: batch scoring of trip files (bootstrap, then the core's ``BatchScoring``)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tripcast.cli.console import console, err_console, user_errors

app = typer.Typer()


class ScoringProgressBar:
    """Rows done out of the input's rows (a counter when unknown, as for CSV), on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ScoringProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def start(self, description: str, total_rows: int | None) -> None:
        """Show a bar for a run of ``total_rows``."""
        self._task = self._progress.add_task(description, total=total_rows)

    def advance(self, rows: int) -> None:
        """Move the bar by ``rows`` input rows."""
        if self._task is not None:
            self._progress.advance(self._task, rows)


@app.command()
@user_errors
def score(
    input_path: Annotated[Path, typer.Option("--input", help="A parquet/CSV trip file or a directory of them")],
    output: Annotated[Path, typer.Option(help="Parquet file for scored rows")],
    quarantine: Annotated[Path | None, typer.Option(help="Parquet file for refused rows (with reasons)")] = None,
    ref: Annotated[str, typer.Option(help="Model version number or alias")] = "champion",
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows per chunk held in memory")] = 50_000,
) -> None:
    """Score trip files in chunks; every input row is either scored or quarantined with its reasons.

    An output that is an input (or inside an input folder) is refused. Outputs appear under their names
    only when complete: an interrupted run leaves the previous files, and the inputs, untouched.
    """
    from tripcast.bootstrap import bootstrap
    from tripcast.core.services.batch_scoring import ScoringJob

    job = ScoringJob(input_path, output, quarantine, model_ref=ref, chunk_rows=chunk_rows)
    tc = bootstrap()
    scoring = tc.scoring
    scoring.plan(job)  # refuse bad paths before loading a model
    with ScoringProgressBar() as progress:
        report = scoring.score(job, progress)
    console.print(
        f"[bold]{report.input_rows:,}[/] rows in: [green]{report.scored_rows:,} scored[/] -> {report.output}, "
        f"[yellow]{report.quarantined_rows:,} quarantined[/] -> {report.quarantine} "
        f"({report.model_name} v{report.model_version}, {report.rows_per_second:,.0f} rows/s, "
        f"{report.rows_per_cpu_second:,.0f} rows per CPU-second)"
    )
    for field, count in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  [yellow]{count:,}[/] rows: bad {field}")

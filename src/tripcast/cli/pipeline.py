"""``tripcast pipeline``: run the monthly data pipeline from the command line."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tripcast.cli.console import fail
from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.locks import LockHeldError
from tripcast.core.ports.pipeline import PipelineReport

app = typer.Typer(
    help="Monthly data pipeline: ingest -> validate -> transform -> quality -> export.", no_args_is_help=True
)
console = Console()


@app.callback()
def pipeline() -> None:
    """Monthly data pipeline: ingest -> validate -> transform -> quality -> export."""


@app.command()
def run(
    month: Annotated[str, typer.Option("--month", help="Month to process, YYYY-MM")],
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark")] = "duckdb",
    source: Annotated[Path | None, typer.Option("--source", help="Folder or file holding the TLC month")] = None,
    download: Annotated[bool, typer.Option("--download/--no-download", help="Download missing months")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun steps that are already complete")] = False,
) -> None:
    """Run every step for one month; complete steps are skipped, a failed run resumes where it stopped.

    One run per month at a time (also against `tripcast validate`): a second is refused with exit 75.
    """
    from tripcast.bootstrap import bootstrap
    from tripcast.cli.guards import load_settings

    try:
        tc = bootstrap(load_settings(), local_source=source, allow_download=download)
        with tc.batch_jobs.run("pipeline", month=month) as counts:  # the run's trace: tc.data.pipeline
            report = tc.data.pipeline.run(
                month, engine=engine, force=force, show_progress=True, actor=getpass.getuser()
            )
            counts.update({f"{step.name}_{kind}": n for step in report.steps for kind, n in step.rows.items()})
    except LockHeldError as exc:
        raise fail(str(exc), code=exc.exit_code) from None
    except TripcastError as exc:
        raise fail(str(exc)) from None
    _print_report(report)


def _print_report(report: PipelineReport) -> None:
    table = Table(title=f"Pipeline {report.month} on {report.engine}")
    for column in ("step", "status", "seconds", "rows"):
        table.add_column(column)
    for step in report.steps:
        rows = ", ".join(f"{k}={v:,}" for k, v in step.rows.items())
        status = "[dim]skipped (up to date)[/]" if step.skipped else "[green]done[/]"
        table.add_row(step.name, status, f"{step.seconds:.2f}", rows)
    console.print(table)
    console.print(f"Manifest: {report.manifest_path}")


@app.command()
def catalog(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write to (default: the catalog_dir setting, TRIPCAST_CATALOG_DIR)"),
    ] = None,
) -> None:
    """Regenerate the JSON Schemas and data dictionary from TRIP_SCHEMA into a folder."""
    from tripcast.bootstrap import bootstrap
    from tripcast.cli.guards import load_settings

    try:
        written = bootstrap(load_settings()).data.catalog.write(out)
    except TripcastError as exc:
        raise fail(str(exc)) from None
    for path in written:
        console.print(f"wrote {path}")

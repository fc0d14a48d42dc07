"""``tripcast score``: batch scoring of trip files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli.console import console, err_console, user_errors

app = typer.Typer()


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
    from tripcast.data_engineering.tlc.schema import TLC_TO_CANONICAL
    from tripcast.mlops.serving.batch import score_file
    from tripcast.mlops.serving.batch.scoring import plan_outputs

    plan_outputs(input_path, output, quarantine)  # refuse bad paths before loading a model
    ctx = bootstrap()
    predictor = ctx.registry.load_predictor(ctx.settings.model_name, ref)
    report = score_file(
        input_path,
        output,
        predictor,
        quarantine=quarantine,
        column_aliases=TLC_TO_CANONICAL,
        chunk_rows=chunk_rows,
        console=err_console,
    )
    console.print(
        f"[bold]{report.input_rows:,}[/] rows in: [green]{report.scored_rows:,} scored[/] -> {report.output}, "
        f"[yellow]{report.quarantined_rows:,} quarantined[/] -> {report.quarantine} "
        f"({report.model_name} v{report.model_version}, {report.rows_per_second:,.0f} rows/s)"
    )
    for field, count in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  [yellow]{count:,}[/] rows: bad {field}")

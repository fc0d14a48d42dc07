"""``tripcast ingest``: fetch raw trip months."""

from __future__ import annotations

from typing import Annotated

import typer

from tripcast.cli.console import console, user_errors
from tripcast.cli.options import MonthsOption, SourceOption, context, months_of
from tripcast.core.services.ingestion import ingest_month

app = typer.Typer()


@app.command()
@user_errors
def ingest(
    months: MonthsOption = None,
    source: SourceOption = None,
    synthetic: Annotated[bool, typer.Option(help="Write generated trips instead of fetching real ones.")] = False,
    rows: Annotated[int, typer.Option(help="Rows per synthetic month.", min=100)] = 60_000,
) -> None:
    """Fetch raw TLC months into data/raw (download, or take --source)."""
    ctx = context(source)
    for month in months_of(ctx, months):
        if synthetic:
            from tripcast.data_engineering.tlc.synthetic import write_synthetic_month

            path = write_synthetic_month(
                ctx.settings.raw_path, month, rows, seed=month.month, service=ctx.settings.service
            )
            console.print(f"{month}: [cyan]synthetic[/] {rows:,} trips -> {path}")
        else:
            console.print(f"{month}: {ingest_month(ctx.source, month)}")

"""``tripcast ingest``: fetch raw trip months (TLC files), or pull trips from a database, an API or a stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, user_errors
from tripcast.cli.options import MonthsOption, SourceOption, context, months_of
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.bootstrap.ingestion import SourceChoice
    from tripcast.core.services.ingest_sources import IngestReport

app = typer.Typer()

_FROM_HELP = (
    "Where trips come from: file (TLC month files, downloaded or --source; the default), postgres (a table or "
    "query), rest (a paginated JSON API), nats (JetStream) or redis (a Redis Stream). Sources other than "
    "file land their trips in the raw folder as TLC-named parquet files, where `tripcast validate` finds them."
)
#: Sources that read one month at a time; the others (streams, watermarked tables) read what is new.
_MONTHLY = ("rest",)


@app.command()
@user_errors
def ingest(
    months: MonthsOption = None,
    source: SourceOption = None,
    synthetic: Annotated[bool, typer.Option(help="Write generated trips instead of fetching real ones.")] = False,
    rows: Annotated[int, typer.Option(help="Rows per synthetic month.", min=100)] = 60_000,
    from_: Annotated[str, typer.Option("--from", help=_FROM_HELP)] = "file",
    url: Annotated[str | None, typer.Option(help="Source URL (database, API, Redis or NATS server).")] = None,
    table: Annotated[str | None, typer.Option(help="postgres: table (or schema.table) of trips.")] = None,
    query: Annotated[str | None, typer.Option(help="postgres: a SELECT instead of a table.")] = None,
    timestamp_column: Annotated[str | None, typer.Option(help="postgres: column that picks the month.")] = None,
    watermark_column: Annotated[
        str | None, typer.Option(help="postgres: pull only rows after the last pulled, ordered by this column.")
    ] = None,
    key_column: Annotated[str | None, typer.Option(help="postgres: unique column ordering watermark ties.")] = None,
    stream: Annotated[str | None, typer.Option(help="redis/nats: stream name.")] = None,
    subject: Annotated[str | None, typer.Option(help="nats: subject the trips are published on.")] = None,
    group: Annotated[str | None, typer.Option(help="redis: consumer group; nats: durable consumer.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows (events, API page size) per read.", min=1)] = None,
    max_batches: Annotated[int | None, typer.Option(help="Stop after this many batches.", min=1)] = None,
) -> None:
    """Fetch raw TLC months into data/raw, or pull trips there from postgres, a REST API, NATS or Redis."""
    from tripcast.bootstrap.ingestion import SOURCE_KINDS, SourceChoice

    if from_ not in SOURCE_KINDS:
        raise InvalidInputError([FieldProblem("--from", f"{from_!r} is not one of {', '.join(SOURCE_KINDS)}")])
    ctx = context(source)
    if from_ == "file":
        _ingest_files(ctx, months, synthetic=synthetic, rows=rows)
        return
    choice = SourceChoice(
        from_, url, table, query, timestamp_column, watermark_column, key_column, stream, subject, group, batch_size
    )
    for month in _pull_months(ctx, choice, months):
        _pull(ctx, choice, month, max_batches)


def _ingest_files(ctx: Tripcast, months: list[str] | None, *, synthetic: bool, rows: int) -> None:
    ingestion = ctx.ingestion.service
    for month in months_of(ctx, months):
        if synthetic:
            path = ingestion.synthetic_month(month, rows)
            console.print(f"{month}: [cyan]synthetic[/] {rows:,} trips -> {path}")
        else:
            console.print(f"{month}: {ingestion.fetch_month(month)}")


def _pull_months(ctx: Tripcast, choice: SourceChoice, months: list[str] | None) -> list[Month | None]:
    """The months to pull one by one; ``[None]`` for a source that delivers what is new (any month)."""
    monthly = choice.kind in _MONTHLY or (
        choice.kind == "postgres" and not (choice.watermark_column or ctx.settings.ingest_postgres_watermark_column)
    )
    if monthly:
        return list(months_of(ctx, months))
    if months and len(months) > 1:
        raise InvalidInputError(
            [FieldProblem("--month", f"--from {choice.kind} reads what is new: give at most one --month to land it in")]
        )
    return [Month.parse(months[0])] if months else [None]


def _pull(ctx: Tripcast, choice: SourceChoice, month: Month | None, max_batches: int | None) -> None:
    source = ctx.ingestion.source(choice)
    try:
        report = ctx.ingestion.service.pull(source, month, max_batches=max_batches)
    finally:
        source.close()
    _print_report(report, month)


def _print_report(report: IngestReport, month: Month | None) -> None:
    """Where every record went: landed per month file, or rejected with a reason."""
    where = f"{month}: " if month is not None else ""
    console.print(
        f"{where}[bold]{report.rows_read:,}[/] records read from {report.source}: "
        f"[green]{report.rows_landed:,} landed[/], [yellow]{report.rows_rejected:,} rejected[/]",
        highlight=False,
        soft_wrap=True,
    )
    for landed in report.files:
        total = f" ({landed.total_rows:,} in the file)" if landed.total_rows != landed.rows else ""
        console.print(
            f"  {landed.month}: {landed.rows:,} trips -> {landed.path}{total}", highlight=False, soft_wrap=True
        )
    if report.reasons:
        reasons = Table("rejection reason", "records")
        for reason, count in report.reasons.items():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)
        console.print(f"  rejected records kept in {report.rejected_path}", highlight=False, soft_wrap=True)

"""``tripcast feedback``: record actual outcomes against logged predictions, and report live error."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, print_json, user_errors
from tripcast.cli.options import context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.services.feedback import ErrorSlice, FeedbackReport

app = typer.Typer(no_args_is_help=True, help="Ground truth: actual outcomes, live error, concept drift.")


@app.command()
@user_errors
def ingest(
    source: Annotated[
        Path | None, typer.Option("--source", help="CSV/Parquet of request_id, actual_minutes to join to the log")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM: replay this month through the model (no logs needed)")
    ] = None,
    model: Annotated[str, typer.Option("--model", help="Version or alias a --month replay predicts with")] = "champion",
    trips: Annotated[
        Path | None, typer.Option("--trips", help="Local TLC file or folder for --month instead of downloading")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON")] = False,
) -> None:
    """Join actual durations to logged predictions (all rows or none), or replay a month through the model."""
    if (source is None) == (month is None):
        raise InvalidInputError([FieldProblem("--source/--month", "give exactly one of them")])
    ctx = context(trips)
    service = ctx.feedback.service
    if source is not None:
        outcome = service.ingest(str(source), actor=getpass.getuser())
    else:
        outcome = service.replay(Month.parse(str(month)), model_ref=model, actor=getpass.getuser())
    if as_json:
        print_json({"source": outcome.source, "rows": outcome.rows, "predictions_logged": outcome.predictions_logged})
        return
    logged = f", {outcome.predictions_logged:,} predictions logged" if outcome.predictions_logged else ""
    console.print(f"[green]{outcome.rows:,} outcomes recorded[/] from {outcome.source}{logged}")


@app.command()
@user_errors
def report(
    window: Annotated[str, typer.Option("--window", help="Time window: hour, day or week")] = "day",
    since: Annotated[str | None, typer.Option("--since", help="Only predictions from this ISO date/time on")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Live RMSE/MAE per version, per segment (borough) and per time window, and concept drift per version."""
    start = _parse_since(since)
    result = context().feedback.service.report(window=window, since=start)
    if as_json:
        print_json(result.to_dict())
        return
    _print_report(result)


def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        raise InvalidInputError([FieldProblem("--since", f"not an ISO date/time: {since!r}")]) from None


def _print_report(result: FeedbackReport) -> None:
    if not result.by_version:
        console.print("no predictions with actual outcomes yet: run `tripcast feedback ingest`")
        return
    console.print(_table("live error per version", result.by_version, None))
    console.print(_table("per segment", result.by_segment, "segment"))
    console.print(_table(f"per {result.window}", result.by_window, "window_start"))
    for version, verdict in result.decay.items():
        if "error" in verdict:
            console.print(f"v{version}: concept drift not assessed: {verdict['error']}")
        else:
            state = "[red]DECAYED[/]" if verdict["decayed"] else "[green]ok[/]"
            ratio = verdict["latest"].get("rmse_ratio")
            shown = f" (latest window RMSE / validation RMSE = {ratio:.2f})" if ratio is not None else ""
            console.print(f"v{version}: concept drift {state}{shown}")


def _table(title: str, slices: list[ErrorSlice], column: str | None) -> Table:
    table = Table("version", *([column] if column else []), "n", "RMSE", "MAE", "bias", title=title)
    for s in slices:
        extra = [str(getattr(s, column))] if column else []
        table.add_row(s.model_version, *extra, f"{s.n:,}", f"{s.rmse:.2f}", f"{s.mae:.2f}", f"{s.bias:+.2f}")
    return table

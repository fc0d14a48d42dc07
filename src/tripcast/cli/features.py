"""``tripcast features materialize``: the zone feature store (Feast), offline tables to online store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli.console import console, err_console, step, user_errors
from tripcast.core.domain.errors import FieldProblem, InvalidInputError

app = typer.Typer(help="Feature store (Feast): zone aggregates offline and online.", no_args_is_help=True)


def _parse_day(text: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError([FieldProblem(field_name, f"{text!r} is not a date like 2021-03-01")]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("materialize")
@user_errors
def features_materialize(
    start: Annotated[str, typer.Option("--start", help="First feature timestamp (date or datetime, UTC).")],
    end: Annotated[str, typer.Option("--end", help="Last feature timestamp (date or datetime, UTC).")],
    trips: Annotated[
        list[Path] | None, typer.Option("--trips", help="Validated trips parquet (repeatable) instead of the pipeline.")
    ] = None,
    tlc: Annotated[
        list[Path] | None, typer.Option("--tlc", help="Raw TLC file(s), validated here (repeatable).")
    ] = None,
    online_url: Annotated[
        str | None,
        typer.Option("--online-url", envvar="TRIPCAST_FEATURE_STORE_ONLINE_URL", help="redis://... (default SQLite)"),
    ] = None,
) -> None:
    """Build the offline zone tables and load them into the online store.

    The tables come from ``--trips``/``--tlc`` when given, else from the data pipeline's output, else
    from the validated months under ``data/processed`` (what ``tripcast validate`` and ``make demo`` write).
    """
    from rich.table import Table

    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.monitoring import feature_store_service

    start_at, end_at = _parse_day(start, "start"), _parse_day(end, "end")
    service = feature_store_service(bootstrap(), online_url)
    with step(f"Building offline tables and materializing {start_at:%Y-%m-%d %H:%M} .. {end_at:%Y-%m-%d %H:%M}"):
        result = service.materialize(start_at, end_at, [str(p) for p in trips or []], [str(p) for p in tlc or []])
    for note in result.notes:
        err_console.print(note)
    table = Table(title="Feature store")
    for name in ("view", "offline rows", "staleness (s)"):
        table.add_column(name)
    for view, rows in result.rows.items():
        table.add_row(view, f"{rows:,}", f"{result.staleness_seconds[view]:.0f}")
    console.print(table)

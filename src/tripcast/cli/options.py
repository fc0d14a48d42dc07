"""Options and helpers shared by the CLI's command modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tripcast.bootstrap import Tripcast, bootstrap
from tripcast.cli.console import console
from tripcast.cli.guards import load_settings
from tripcast.core.domain.month import Month
from tripcast.core.services.training import TrainingPlan
from tripcast.core.services.validation import ValidationReport

MonthsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--month", "-m", help="Month YYYY-MM; repeat for several. Default: train, validation and test months."
    ),
]
SourceOption = Annotated[
    Path | None,
    typer.Option("--source", help="A local TLC file or a folder of them, used instead of downloading."),
]
ModelOption = Annotated[str, typer.Option("--model", help="Model version number or alias (champion, challenger).")]


def context(source: Path | None = None, *, allow_download: bool = True) -> Tripcast:
    return bootstrap(load_settings(), local_source=source, allow_download=allow_download)


def months_of(ctx: Tripcast, months: list[str] | None) -> list[Month]:
    if months:
        return [Month.parse(m) for m in months]
    plan = TrainingPlan.consecutive(Month.parse(ctx.settings.train_month, "train_month"), ctx.settings.model_name)
    return [plan.train_month, plan.valid_month, plan.test_month]


def print_validation(report: ValidationReport) -> None:
    """Where every row went, and why the quarantined ones were set aside."""
    console.print(
        f"[bold]{report.month}[/] {report.n_input:,} rows in: [green]{report.n_valid:,} valid[/], "
        f"[yellow]{report.n_quarantined:,} quarantined[/] ({report.source})"
    )
    if report.reasons:
        table = Table("quarantine reason", "rows", caption="a row may have several reasons")
        for reason, count in report.reasons.items():
            table.add_row(reason, f"{count:,}")
        console.print(table)

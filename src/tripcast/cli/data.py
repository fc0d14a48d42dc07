"""``tripcast validate``, and the helpers that make sure a month is validated before it is used."""

from __future__ import annotations

import getpass

import typer

from tripcast.bootstrap import Tripcast
from tripcast.cli.console import step, user_errors
from tripcast.cli.guards import refuse_when_locked
from tripcast.cli.options import MonthsOption, SourceOption, context, months_of, print_validation
from tripcast.core.domain.month import Month
from tripcast.core.ports.locks import month_lock
from tripcast.core.services.training import TrainingPlan
from tripcast.core.services.validation import ValidationReport

app = typer.Typer()


@app.command()
@user_errors
@refuse_when_locked
def validate(months: MonthsOption = None, source: SourceOption = None) -> None:
    """Split raw months into data/processed and data/quarantine, with reasons.

    Reads the month in batches, so memory stays bounded whatever its size. One run per month
    at a time (also against `tripcast pipeline run`): a second is refused, exit 75.
    """
    ctx = context(source)
    for month in months_of(ctx, months):
        with ctx.locks.hold(month_lock(ctx.settings.service, month), f"tripcast validate {month}"):
            ctx.source.fetch(month)
            with step(f"validating {month}"):
                report = ctx.data.validation.validate(month, actor=getpass.getuser())
        print_validation(report)


def ensure_month_processed(ctx: Tripcast, month: Month) -> ValidationReport | None:
    """Validate ``month`` unless it already was, under the month's lock."""
    if ctx.store.has_processed(month):
        return None
    with ctx.locks.hold(month_lock(ctx.settings.service, month), f"tripcast validate {month}"):
        return ctx.data.validation.ensure_processed(month, actor=getpass.getuser())


def prepare_plan(ctx: Tripcast, plan: TrainingPlan) -> None:
    """Make sure the plan's train, validation and test months are validated, printing what was done."""
    for month in (plan.train_month, plan.valid_month, plan.test_month):
        report = ensure_month_processed(ctx, month)
        if report is not None:
            print_validation(report)

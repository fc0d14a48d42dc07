"""``tripcast demo``: ingest -> validate -> train -> register -> promote -> predict, end to end."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.panel import Panel
from rich.table import Table

from tripcast.bootstrap import Settings, Tripcast, bootstrap, load_settings, mask_url
from tripcast.bootstrap.ml import synthetic_bootstrap
from tripcast.cli.console import console, user_errors
from tripcast.cli.guards import refuse_when_locked
from tripcast.core.domain.errors import PromotionRefusedError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.promotion import CHAMPION
from tripcast.core.services.training import TrainingPlan, TrainingReport
from tripcast.core.services.validation import ValidationReport

T = TypeVar("T")


class _Timer:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        console.rule(f"[bold]{name}")
        start = time.perf_counter()
        yield
        self.steps[name] = time.perf_counter() - start


def _fetch_all(ctx: Tripcast, plan: TrainingPlan) -> None:
    for month in (plan.train_month, plan.valid_month, plan.test_month):
        console.print(f"{month}: {ctx.source.fetch(month)}")


def _synthetic_context(settings: Settings, plan: TrainingPlan, rows: int) -> Tripcast:
    months = (plan.train_month, plan.valid_month, plan.test_month)
    ctx, written = synthetic_bootstrap(settings, months, rows)
    for month, path in zip(months, written, strict=True):
        console.print(f"{month}: [cyan]synthetic[/] {rows:,} trips -> {path}")
    return ctx


def _sample_trip(ctx: Tripcast, month: Month) -> tuple[TripRequest, float]:
    trips = ctx.store.load_processed(month)
    row = trips.iloc[len(trips) // 2]
    request = TripRequest.create(
        pickup_datetime=row["pickup_datetime"].to_pydatetime(),
        pickup_zone=int(row["pickup_zone"]),
        dropoff_zone=int(row["dropoff_zone"]),
        trip_distance=float(row["trip_distance"]),
    )
    return request, float(row["duration_minutes"])


def _attempt(action: Callable[[], T]) -> T | TripcastError:
    try:
        return action()
    except TripcastError as exc:
        return exc


def _ingest(
    settings: Settings, plan: TrainingPlan, *, synthetic: bool, rows: int, source: Path | None
) -> tuple[Tripcast, str]:
    """The root over real TLC months (fetched or local), else over synthetic ones; and which kind it is."""
    ctx = bootstrap(settings, local_source=source)
    fetched = None if synthetic else _attempt(lambda: _fetch_all(ctx, plan))
    if not synthetic and not isinstance(fetched, TripcastError):
        return ctx, "real NYC TLC"
    if isinstance(fetched, TripcastError):
        console.print(
            Panel(
                f"{fetched}\n\n[bold]Falling back to synthetic trips[/] so the demo can run offline.",
                title="real data unavailable",
                border_style="yellow",
            )
        )
    return _synthetic_context(settings, plan, rows), "synthetic"


def _validate_all(ctx: Tripcast, plan: TrainingPlan) -> list[ValidationReport]:
    from tripcast.cli.data import ensure_month_processed
    from tripcast.cli.options import print_validation

    reports: list[ValidationReport] = []
    for month in (plan.train_month, plan.valid_month, plan.test_month):
        report = ensure_month_processed(ctx, month)
        if report is None:
            console.print(f"{month}: already processed")
        else:
            print_validation(report)
            reports.append(report)
    return reports


def _promote(ctx: Tripcast, training: TrainingReport) -> None:
    from tripcast.cli.models import promote_version

    outcome = _attempt(
        lambda: promote_version(
            ctx, training.version.version, force=False, reason="tripcast demo", actor=getpass.getuser()
        )
    )
    if isinstance(outcome, PromotionRefusedError):
        console.print(f"[yellow]kept the current champion[/]: {outcome}")
    elif isinstance(outcome, TripcastError):
        raise outcome


def _predict(ctx: Tripcast, plan: TrainingPlan) -> None:
    request, actual = _sample_trip(ctx, plan.valid_month)
    prediction = ctx.serving.prediction(CHAMPION).predict_one(request)
    console.print(
        f"trip {request.pickup_zone} -> {request.dropoff_zone}, {request.trip_distance} mi at "
        f"{request.pickup_datetime:%Y-%m-%d %H:%M}: predicted [bold]{prediction.minutes:.1f} min[/] "
        f"(actual {actual:.1f}) by v{prediction.model_version}"
    )


def _summary(
    ctx: Tripcast, plan: TrainingPlan, data_kind: str, reports: list[ValidationReport], training: TrainingReport
) -> Table:
    summary = Table(show_header=False, title=f"Tripcast demo summary ({data_kind} data)")
    summary.add_column(style="bold")
    summary.add_column()
    for report in reports:
        summary.add_row(
            f"rows {report.month}",
            f"{report.n_input:,} in = {report.n_valid:,} valid + {report.n_quarantined:,} quarantined",
        )
    name = ctx.settings.model_name
    summary.add_row("trained version", f"{name} v{training.version.version}")
    summary.add_row(f"validation RMSE ({plan.valid_month})", f"{training.validation.metric('rmse'):.3f} min")
    summary.add_row(f"test RMSE ({plan.test_month})", f"{training.test.metric('rmse'):.3f} min")
    summary.add_row("linear baseline val RMSE", f"{training.baseline_validation.metric('rmse'):.3f} min")
    summary.add_row("champion", f"v{ctx.registry.get(name, CHAMPION).version}")
    summary.add_row("tracking", mask_url(ctx.settings.tracking_uri))
    return summary


@user_errors
@refuse_when_locked
def demo(
    synthetic: Annotated[bool, typer.Option(help="Use generated trips instead of real TLC data.")] = False,
    rows: Annotated[int, typer.Option(help="Rows per synthetic month.", min=1000)] = 60_000,
    source: Annotated[
        Path | None, typer.Option("--source", help="Folder of TLC files to use instead of downloading.")
    ] = None,
) -> None:
    """Run the whole loop on embedded defaults and print a summary.

    Real TLC months are taken from TRIPCAST_RAW_DIR / --source or downloaded; with no
    network and no files, the demo says so and falls back to synthetic trips.
    """
    from tripcast.cli.models import train_model

    settings = load_settings()
    plan = TrainingPlan.consecutive(Month.parse(settings.train_month, "train_month"), settings.model_name)
    timer = _Timer()
    with timer.step("1. ingest"):
        ctx, data_kind = _ingest(settings, plan, synthetic=synthetic, rows=rows, source=source)
    with timer.step("2. validate"):
        reports = _validate_all(ctx, plan)
    with timer.step("3. train + register"):
        training = train_model(ctx, str(plan.train_month))
    with timer.step("4. promote"):
        _promote(ctx, training)
    with timer.step("5. predict"):
        _predict(ctx, plan)
    summary = _summary(ctx, plan, data_kind, reports, training)
    summary.add_row("timings", ", ".join(f"{k.split('. ')[1]} {v:.1f}s" for k, v in timer.steps.items()))
    console.print(summary)
    next_steps = "[bold]tripcast models[/] to list versions"
    next_steps = "[bold]tripcast serve[/] to answer HTTP requests, " + next_steps  # level: intermediate
    console.print(f"next: {next_steps}")

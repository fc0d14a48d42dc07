"""Model commands: ``tripcast train``, ``evaluate``, ``promote`` and ``models``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tripcast.bootstrap import Tripcast
from tripcast.cli.console import console, print_json, step, user_errors
from tripcast.cli.data import ensure_month_processed, prepare_plan
from tripcast.cli.guards import refuse_when_locked
from tripcast.cli.options import ModelOption, SourceOption, context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.domain.month import Month
from tripcast.core.services.promotion import CHAMPION
from tripcast.core.services.training import TrainingPlan, TrainingReport

app = typer.Typer()


def train_model(ctx: Tripcast, train_month: str | None) -> TrainingReport:
    """Prepare the plan's months, then train and register through ``tc.ml.training``; print the metrics."""
    plan = TrainingPlan.consecutive(
        Month.parse(train_month or ctx.settings.train_month, "train_month"), ctx.settings.model_name
    )
    prepare_plan(ctx, plan)
    with step(f"training on {plan.train_month}, validating on {plan.valid_month}, testing on {plan.test_month}"):
        report = ctx.ml.training.train_and_register(plan, actor=getpass.getuser())
    table = Table(
        "model",
        "val rmse",
        "val mae",
        "test rmse",
        "rows trained",
        title=f"{plan.model_name} v{report.version.version}",
    )
    table.add_row(
        "lightgbm",
        f"{report.validation.metric('rmse'):.3f}",
        f"{report.validation.metric('mae'):.3f}",
        f"{report.test.metric('rmse'):.3f}",
        f"{report.n_train:,}",
    )
    table.add_row(
        "linear baseline",
        f"{report.baseline_validation.metric('rmse'):.3f}",
        f"{report.baseline_validation.metric('mae'):.3f}",
        "",
        "",
    )
    console.print(table)
    for note in report.notes:
        console.print(f"[green]✓[/] {note}")
    return report


@app.command()
@user_errors
def train(
    train_month: Annotated[
        str | None, typer.Option(help="Training month; validation and test are the next two.")
    ] = None,
    source: SourceOption = None,
) -> None:
    """Train LightGBM and a linear baseline, track them in MLflow and register the model."""
    ctx = context(source)
    report = train_model(ctx, train_month)
    console.print(f"registered [bold]{report.version.name}[/] version {report.version.version} (run {report.run_id})")


def _evaluation_payload(ctx: Tripcast, model: str, month: str | None, source: Path | None) -> dict[str, Any]:
    if month and source:
        raise InvalidInputError([FieldProblem("--month/--source", "give one of them, not both")])
    if source is not None and not source.exists():
        raise InvalidInputError([FieldProblem("--source", f"{source} does not exist")])
    version = ctx.registry.get(ctx.settings.model_name, model)
    if source is not None:
        raw = ctx.source.load_file(source)
    else:
        target = Month.parse(month) if month else None
        if target is None:
            target = Month.parse(version.tags.get("valid_month", ""), "valid_month tag")
        ctx.source.fetch(target)
        raw = ctx.source.load(target)
    outcome = ctx.validator.split(raw)
    if outcome.n_valid == 0:
        raise InvalidInputError([FieldProblem(str(raw.source), f"no valid trips to evaluate on ({outcome.reasons})")])
    evaluation, data = ctx.ml.promotion.evaluate(
        ctx.settings.model_name, version.version, outcome.valid, f"{raw.source}"
    )
    return {
        "model": ctx.settings.model_name,
        "ref": model,
        "version": version.version,
        "dataset": str(raw.source),
        "dataset_digest": data.digest,
        "n": evaluation.n,
        "n_input": len(raw.table),
        "n_quarantined": outcome.n_quarantined,
        **evaluation.metrics,
    }


@app.command()
@user_errors
def evaluate(
    model: ModelOption = CHAMPION,
    month: Annotated[
        str | None, typer.Option(help="Month to evaluate on (default: the model's validation month).")
    ] = None,
    source: Annotated[Path | None, typer.Option("--source", help="A TLC parquet/CSV file to evaluate on.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable metrics.")] = False,
) -> None:
    """Score a model version or alias on any month or TLC file."""
    ctx = context(None)
    payload = _evaluation_payload(ctx, model, month, source)
    if as_json:
        print_json(payload)
        return
    table = Table("metric", "value", title=f"{payload['model']} v{payload['version']} on {payload['dataset']}")
    for key in ("rmse", "mae", "r2", "n", "n_quarantined"):
        value = payload[key]
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else f"{value:,}")
    console.print(table)


@app.command("promote")
@user_errors
@refuse_when_locked
def promote_command(
    version: Annotated[str | None, typer.Option("--version", help="Candidate version (default: the newest).")] = None,
    force: Annotated[bool, typer.Option(help="Promote even if it does not beat the champion.")] = False,
    reason: Annotated[str, typer.Option(help="Why, recorded on the version.")] = "manual promotion",
    actor: Annotated[str | None, typer.Option(help="Who, recorded on the version (default: OS user).")] = None,
) -> None:
    """Move the champion alias to a candidate that beats it on the same validation data.

    One promotion per model at a time: a second is refused with exit status 75.
    """
    ctx = context(None)
    promote_version(ctx, version, force=force, reason=reason, actor=actor or getpass.getuser())


def promote_version(ctx: Tripcast, version: str | None, *, force: bool, reason: str, actor: str) -> str:
    """Gate a candidate (default: the newest version) against the champion through ``tc.ml.promotion``."""
    promotion = ctx.ml.promotion
    candidate = promotion.candidate(ctx.settings.model_name, version)
    valid_month = promotion.validation_month(candidate)
    ensure_month_processed(ctx, valid_month)
    with step(f"gating {candidate.name} v{candidate.version} against the champion on {valid_month}"):
        result = promotion.promote(candidate, actor=actor, reason=reason, force=force)
    console.print(f"[green]champion[/] -> {result.name} v{result.version}: {result.decision.reason}")
    return result.version


#: ``tripcast models``: lists the versions when given no subcommand; higher levels add subcommands to it
#: (``card``, ``request``/``approve``/``reject``/``approvals``, ``history``) from cli/app.py.
models_app = typer.Typer(help="Registered versions: list them (no subcommand), or run a subcommand.")
app.add_typer(models_app, name="models")


@models_app.callback(invoke_without_command=True)
def models_group(typer_context: typer.Context) -> None:
    """List registered versions with aliases and metrics (or run a subcommand)."""
    if typer_context.invoked_subcommand is None:
        models()


@user_errors
def models() -> None:
    """List registered versions with aliases and metrics."""
    ctx = context(None)
    versions = ctx.registry.list_versions(ctx.settings.model_name)
    if not versions:
        raise NotFoundError(f"no versions of {ctx.settings.model_name!r} registered yet: run `tripcast train` first")
    table = Table("version", "aliases", "val rmse", "test rmse", "trained on", "created", title=ctx.settings.model_name)
    for v in versions:
        table.add_row(
            v.version,
            ", ".join(v.aliases) or "-",
            _fmt(v.metrics.get("val_rmse")),
            _fmt(v.metrics.get("test_rmse")),
            v.tags.get("train_month", "-"),
            f"{v.created_at:%Y-%m-%d %H:%M}" if v.created_at else "-",
        )
    console.print(table)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"

"""``tripcast``: ingest, validate, train, evaluate, promote, predict and inspect models."""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tripcast.bootstrap import Tripcast, bootstrap
from tripcast.cli import monitoring, pipeline, serving, tokens
from tripcast.cli.console import console, fail, print_json, step, user_errors
from tripcast.cli.demo import demo
from tripcast.cli.guards import load_settings, refuse_when_locked
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.locks import month_lock
from tripcast.core.services.ingestion import ValidationReport, ensure_processed, ingest_month, validate_month
from tripcast.core.services.prediction import predict_trips
from tripcast.core.services.promotion import CHAMPION, evaluate_version, promote
from tripcast.core.services.training import TrainingPlan, TrainingReport, train_and_register

# MLflow logs schema migrations and pip probing at INFO on every command; users want our output, not that.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

app = typer.Typer(
    name="tripcast",
    help="Tripcast: NYC taxi trip-duration prediction with a production MLOps loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

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


def _context(source: Path | None = None, *, allow_download: bool = True) -> Tripcast:
    return bootstrap(load_settings(), local_source=source, allow_download=allow_download)


def _months(ctx: Tripcast, months: list[str] | None) -> list[Month]:
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


@app.command()
@user_errors
def ingest(
    months: MonthsOption = None,
    source: SourceOption = None,
    synthetic: Annotated[bool, typer.Option(help="Write generated trips instead of fetching real ones.")] = False,
    rows: Annotated[int, typer.Option(help="Rows per synthetic month.", min=100)] = 60_000,
) -> None:
    """Fetch raw TLC months into data/raw (download, or take --source)."""
    ctx = _context(source)
    for month in _months(ctx, months):
        if synthetic:
            from tripcast.data_engineering.tlc.synthetic import write_synthetic_month

            path = write_synthetic_month(
                ctx.settings.raw_path, month, rows, seed=month.month, service=ctx.settings.service
            )
            console.print(f"{month}: [cyan]synthetic[/] {rows:,} trips -> {path}")
        else:
            console.print(f"{month}: {ingest_month(ctx.source, month)}")


@app.command()
@user_errors
@refuse_when_locked
def validate(months: MonthsOption = None, source: SourceOption = None) -> None:
    """Split raw months into data/processed and data/quarantine, with reasons.

    One run per month at a time (also against `tripcast pipeline run`): a second is refused, exit 75.
    """
    ctx = _context(source)
    for month in _months(ctx, months):
        with ctx.locks.hold(month_lock(ctx.settings.service, month), f"tripcast validate {month}"):
            ctx.source.fetch(month)
            with step(f"validating {month}"):
                report = validate_month(
                    ctx.source,
                    ctx.validator,
                    ctx.store,
                    month,
                    audit=ctx.audit,
                    clock=ctx.clock,
                    actor=getpass.getuser(),
                )
        print_validation(report)


def _ensure_processed(ctx: Tripcast, month: Month) -> ValidationReport | None:
    """Validate ``month`` unless it already was, under the month's lock."""
    if ctx.store.has_processed(month):
        return None
    with ctx.locks.hold(month_lock(ctx.settings.service, month), f"tripcast validate {month}"):
        return ensure_processed(
            ctx.source, ctx.validator, ctx.store, month, audit=ctx.audit, clock=ctx.clock, actor=getpass.getuser()
        )


def _prepare(ctx: Tripcast, plan: TrainingPlan) -> None:
    for month in (plan.train_month, plan.valid_month, plan.test_month):
        report = _ensure_processed(ctx, month)
        if report is not None:
            print_validation(report)


def _train(ctx: Tripcast, train_month: str | None) -> TrainingReport:
    plan = TrainingPlan.consecutive(
        Month.parse(train_month or ctx.settings.train_month, "train_month"), ctx.settings.model_name
    )
    _prepare(ctx, plan)
    with step(f"training on {plan.train_month}, validating on {plan.valid_month}, testing on {plan.test_month}"):
        report = train_and_register(
            plan,
            store=ctx.store,
            features=ctx.features,
            trainer=ctx.trainer,
            baseline_trainer=ctx.baseline_trainer,
            metrics=ctx.metrics,
            tracker=ctx.tracker,
            registry=ctx.registry,
            clock=ctx.clock,
            audit=ctx.audit,
            actor=getpass.getuser(),
            hooks=ctx.registration_hooks,
        )
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
    ctx = _context(source)
    report = _train(ctx, train_month)
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
    data = ctx.features.training_set(outcome.valid, f"{raw.source}")
    evaluation = evaluate_version(ctx.registry, ctx.metrics, ctx.settings.model_name, version.version, data)
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
    ctx = _context(None)
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
    ctx = _context(None)
    _promote(ctx, version, force=force, reason=reason, actor=actor or getpass.getuser())


def _promote(ctx: Tripcast, version: str | None, *, force: bool, reason: str, actor: str) -> str:
    name = ctx.settings.model_name
    versions = ctx.registry.list_versions(name)
    if not versions:
        raise NotFoundError(f"no versions of {name!r} registered yet: run `tripcast train` first")
    candidate = ctx.registry.get(name, version) if version else versions[0]
    valid_month = Month.parse(candidate.tags.get("valid_month", ""), "valid_month tag")
    _ensure_processed(ctx, valid_month)
    with step(f"gating {name} v{candidate.version} against the champion on {valid_month}"):
        result = promote(
            ctx.registry,
            ctx.features,
            ctx.metrics,
            ctx.clock,
            name=name,
            candidate_ref=candidate.version,
            validation_trips=ctx.store.load_processed(valid_month),
            validation_name=str(valid_month),
            actor=actor,
            reason=reason,
            force=force,
            audit=ctx.audit,
            locks=ctx.registry_locks,
        )
    console.print(f"[green]champion[/] -> {name} v{result.version}: {result.decision.reason}")
    return result.version


def _parse_trip(text: str) -> TripRequest:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError([FieldProblem("--trip", f"not valid JSON: {exc.msg} at char {exc.pos}")]) from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise InvalidInputError([FieldProblem("--trip", "a number in it is too long")]) from None
    if not isinstance(payload, dict):
        raise InvalidInputError([FieldProblem("--trip", "must be a JSON object")])
    allowed = {"pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count"}
    unknown = sorted(set(payload) - allowed)
    missing = sorted({"pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance"} - set(payload))
    problems = [FieldProblem(f, "unknown field") for f in unknown] + [FieldProblem(f, "required") for f in missing]
    if problems:
        raise InvalidInputError(problems)
    when = payload["pickup_datetime"]
    try:
        pickup = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:
        raise InvalidInputError([FieldProblem("pickup_datetime", f"{when!r} is not an ISO 8601 datetime")]) from None
    return TripRequest.create(
        pickup_datetime=pickup,
        pickup_zone=payload["pickup_zone"],
        dropoff_zone=payload["dropoff_zone"],
        trip_distance=payload["trip_distance"],
        vendor_id=payload.get("vendor_id"),
        passenger_count=payload.get("passenger_count"),
    )


@app.command()
@user_errors
def predict(
    trip: Annotated[
        str | None,
        typer.Option(
            help="One trip as JSON, e.g. "
            '\'{"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}\''
        ),
    ] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="Parquet/CSV of trips to score.")] = None,
    output_path: Annotated[Path | None, typer.Option("--output", help="Where to write predictions (parquet).")] = None,
    model: ModelOption = CHAMPION,
) -> None:
    """Predict the duration of one trip (JSON) or of a file of trips."""
    ctx = _context(None)
    if (trip is None) == (input_path is None):
        raise fail("give exactly one of --trip or --input")
    if input_path is not None:
        if output_path is None:
            raise InvalidInputError([FieldProblem("--output", "required with --input (a parquet file to write)")])
        serving.score(input_path=input_path, output=output_path, quarantine=None, ref=model, chunk_rows=50_000)
        return
    assert trip is not None
    request = _parse_trip(trip)
    predictor = ctx.registry.load_predictor(ctx.settings.model_name, model)
    [prediction] = predict_trips(predictor, [request])
    print_json(
        {
            "minutes": round(prediction.minutes, 3),
            "model_name": prediction.model_name,
            "model_version": prediction.model_version,
        }
    )


@app.command()
@user_errors
def models() -> None:
    """List registered versions with aliases and metrics."""
    ctx = _context(None)
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


@app.command()
@user_errors
def audit(
    subject: Annotated[str, typer.Option(help="Only subjects starting with this, e.g. model: or dataset:")] = "",
    limit: Annotated[int, typer.Option(min=1)] = 50,
    verify: Annotated[
        bool, typer.Option(help="Check every row's HMAC and the signed head; exit 3 naming the first bad row.")
    ] = False,
    adopt_legacy: Annotated[
        bool, typer.Option(help="Check a trail from older versions (unkeyed) and sign it as a legacy segment.")
    ] = False,
) -> None:
    """Show the audit trail of model and data changes (newest first)."""
    ctx = _context(None)
    if adopt_legacy:
        adopted = ctx.audit.adopt_legacy()
        console.print(f"[green]adopted[/] {adopted:,} legacy rows; new events are chained with TRIPCAST_AUDIT_KEY")
    if verify:
        _verify_audit(ctx)
    table = Table("at", "actor", "action", "subject", "details", title="audit trail")
    for event in ctx.audit.events(subject, limit):
        shown = {k: v for k, v in event.details.items() if k.startswith(("promotion.gate", "rows_", "val_rmse"))}
        table.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.actor, event.action, event.subject, json.dumps(shown))
    console.print(table)


#: Exit status of `tripcast audit --verify` on a trail that fails its check.
AUDIT_BROKEN_EXIT_CODE = 3


def _verify_audit(ctx: Tripcast) -> None:
    from tripcast.security.audit_log import AuditChainBrokenError

    try:
        trail = ctx.audit.verify()
    except AuditChainBrokenError as exc:
        raise fail(f"audit trail broken: {exc}", code=AUDIT_BROKEN_EXIT_CODE) from None
    legacy = f", {trail.legacy_events:,} of them legacy (unkeyed)" if trail.legacy_events else ""
    console.print(
        f"[green]audit trail intact[/]: {trail.events:,} events verified{legacy}; "
        f"signed head: row {trail.last_id}, hash {trail.head_hash[:16]}",
        highlight=False,
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# The other areas' commands: serving and monitoring at top level, pipelines as a group.
app.command()(demo)
for _sub in (serving.app, monitoring.app):
    app.registered_commands.extend(_sub.registered_commands)
    app.registered_groups.extend(_sub.registered_groups)
app.add_typer(pipeline.app, name="pipeline", help="Data pipelines: ingest, validate, transform, export.")
app.add_typer(tokens.app, name="tokens", help="API keys with roles for the HTTP API: create, revoke, list.")


def main() -> None:
    """Console-script entry point."""
    app()

"""``tripcast drift|alerts|features``: monitoring commands.

This module is where the generic monitoring machinery meets the taxi domain: it reads TLC
files with the TLC loader, validates them, builds TRIP_DURATION_SPEC features and hands
plain DataFrames to the generic drift detector.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from tripcast.cli.console import console, err_console, fail, step, user_errors
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.month import Month
from tripcast.settings import Settings

app = typer.Typer(help="Monitoring: data drift, alerts and the feature store.", no_args_is_help=True)
drift_app = typer.Typer(help="Data and prediction drift against the model's reference profile.", no_args_is_help=True)
app.add_typer(drift_app, name="drift")

_MONTH = re.compile(r"^\d{4}-\d{2}$")
#: Fewest valid current rows a drift verdict may rest on (below it the check fails, never passes).
DEFAULT_MIN_ROWS = 100
MonthOption = Annotated[
    str | None,
    typer.Option(
        "--month", help="Check pickup dates against this month (YYYY-MM); default: the month the file name states."
    ),
]
MinRowsOption = Annotated[
    int, typer.Option("--min-rows", min=1, help="Fewest valid rows to judge; fewer is an error, never a pass.")
]


# --------------------------------------------------------------------------- taxi wiring
def trip_spec() -> ModelSpec:
    """The taxi learning problem the monitoring commands watch."""
    from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC

    return TRIP_DURATION_SPEC


def resolve_trip_file(current: str, settings: Settings) -> Path:
    """A TLC file path, or a month (YYYY-MM) resolved to the file in the raw data folder."""
    if _MONTH.match(current):
        from tripcast.data_engineering.tlc.files import tlc_file_name

        month = Month.parse(current, "current")
        for ext in ("parquet", "csv", "csv.gz"):
            candidate = settings.raw_path / tlc_file_name(settings.service, month, ext)
            if candidate.is_file():
                return candidate
        raise NotFoundError(
            f"no {settings.service} TLC file for {month} under {settings.raw_path}; "
            f"run `tripcast ingest --month {month}` first or pass the file path"
        )
    path = Path(current)
    if not path.is_file():
        raise NotFoundError(f"current data {current!r} is neither a month (YYYY-MM) nor an existing file")
    return path


def _month(text: str | None) -> Month | None:
    return Month.parse(text, "month") if text else None


def load_trip_features(path: Path, month: Month | None = None) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Valid trips of a trip file as model features, their durations, and quarantine counts by reason.

    Any TLC-shaped trip file is accepted. Pickup dates are checked against ``month`` when given,
    else against the month the file name states (``..._YYYY-MM.parquet``), else not at all.
    """
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    raw = read_tlc_file(path)
    month = month or month_from_file_name(path)
    # The validator reads the month only to add the pickup-inside-the-month rule; None leaves that rule out.
    dataset = RawDataset(table=raw, month=cast(Month, month), source=str(path))
    outcome = PanderaTripValidator().split(dataset)
    training = TripFeatureBuilder().training_set(outcome.valid, name=path.stem)
    return training.features, np.asarray(training.target, dtype=np.float64), dict(outcome.reasons)


def require_rows(path: Path, features: pd.DataFrame, reasons: dict[str, int], min_rows: int) -> None:
    """Refuse to judge drift on fewer than ``min_rows`` valid rows, naming the quarantine reasons."""
    from tripcast.mlops.drift_detection import InsufficientDataError

    if len(features) >= min_rows:
        return
    why = ", ".join(f"{reason} {count:,}" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]))
    raise InsufficientDataError(
        f"{path.name}: {len(features):,} valid rows, a drift check needs at least {min_rows:,}"
        + (f"; quarantined rows by reason: {why}" if why else "")
    )


def _predict(settings: Settings, version: str, features: pd.DataFrame) -> np.ndarray | None:
    """The version's predictions on ``features``, or None (with a warning) when the model cannot be loaded."""
    from tripcast.bootstrap import bootstrap

    try:
        predictor = bootstrap(settings).registry.load_predictor(settings.model_name, version)
        return np.asarray(predictor.predict_features(features), dtype=np.float64).ravel()
    except Exception as exc:  # noqa: BLE001 - prediction drift is optional; the data drift report still stands
        err_console.print(
            f"[yellow]warning:[/] no prediction drift: cannot load {settings.model_name}@{version}: {str(exc)[:200]}"
        )
        return None


def _parse_thresholds(items: list[str] | None) -> dict[str, float]:
    thresholds: dict[str, float] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            raise InvalidInputError([FieldProblem("threshold", f"{item!r} is not COLUMN=NUMBER")]) from None
    return thresholds


# --------------------------------------------------------------------------- drift commands
@drift_app.command("profile")
@user_errors
def drift_profile(
    train: Annotated[str, typer.Option("--train", help="Training data: TLC file path or month YYYY-MM.")],
    run_id: Annotated[str | None, typer.Option("--run-id", help="MLflow run to attach the profile to.")] = None,
    model_ref: Annotated[
        str | None,
        typer.Option("--model", help="Attach to this model version/alias's run (and profile its predictions)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Also write the profile JSON here.")] = None,
    month: MonthOption = None,
    min_rows: MinRowsOption = DEFAULT_MIN_ROWS,
) -> None:
    """Build the reference profile from training data and store it with the model version in MLflow."""
    from tripcast.mlops.drift_detection.profile import ReferenceProfile
    from tripcast.mlops.drift_detection.profile_store import log_reference_profile

    settings = Settings()
    spec = trip_spec()
    path = resolve_trip_file(train, settings)
    with step(f"Reading features of {path.name}"):
        features, _, reasons = load_trip_features(path, _month(month))
    require_rows(path, features, reasons, min_rows)
    predictions = None
    if model_ref is not None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=settings.tracking_uri)
        version = _model_version(client, settings.model_name, model_ref)
        run_id = run_id or version.run_id
        predictions = _predict(settings, version.version, features)
    with step("Profiling"):
        profile = ReferenceProfile.build(spec, features, predictions, metadata={"source": path.name})
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(profile.to_json())
        console.print(f"profile written to {output}")
    if run_id is not None:
        uri = log_reference_profile(settings.tracking_uri, run_id, profile)
        console.print(f"profile of {profile.n_rows:,} rows logged to [bold]{uri}[/]")
    elif output is None:
        raise InvalidInputError([FieldProblem("run_id", "give --run-id, --model or --output to keep the profile")])


@drift_app.command("check")
@user_errors
def drift_check(
    current: Annotated[str, typer.Option("--current", help="Current data: TLC file path or month YYYY-MM.")],
    reference: Annotated[
        str, typer.Option("--reference", help="Model version or alias whose reference profile to use.")
    ] = "champion",
    profile_file: Annotated[
        Path | None, typer.Option("--profile", help="A profile JSON file instead of the registry's.")
    ] = None,
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="Per-feature threshold override COLUMN=VALUE; repeatable.")
    ] = None,
    drift_share: Annotated[
        float, typer.Option("--drift-share", help="Share of drifted features for dataset drift.")
    ] = 0.5,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="Report folder (default data/reports).")] = None,
    predictions: Annotated[bool, typer.Option(help="Also check prediction drift (loads the model).")] = True,
    month: MonthOption = None,
    min_rows: MinRowsOption = DEFAULT_MIN_ROWS,
) -> None:
    """Check current data for drift against the reference; print a table, write JSON and HTML reports.

    Fails (exit 1) rather than pass when there is nothing to judge: fewer than ``--min-rows`` valid
    rows (the quarantine reasons are listed), or a feature whose test gives no score.
    """
    from tripcast.mlops.drift_detection import DriftConfig, DriftDetector, ReferenceProfile
    from tripcast.mlops.drift_detection.html_report import write_report_files
    from tripcast.mlops.drift_detection.profile_store import load_reference_profile

    settings = Settings()
    spec = trip_spec()
    config = DriftConfig(drift_share=drift_share, thresholds=_parse_thresholds(threshold), min_rows=min_rows)
    path = resolve_trip_file(current, settings)
    version_label = reference
    if profile_file is not None:
        profile = ReferenceProfile.from_json(profile_file.read_text())
        version_label = profile_file.name
    else:
        with step(f"Loading reference profile of {settings.model_name}@{reference}"):
            profile = load_reference_profile(settings.tracking_uri, settings.model_name, reference)
    with step(f"Reading features of {path.name}"):
        features, _, reasons = load_trip_features(path, _month(month))
    require_rows(path, features, reasons, min_rows)
    preds = None
    if predictions and profile_file is None and profile.prediction is not None:
        preds = _predict(settings, reference, features)
    detector = DriftDetector(spec, profile, config)
    with step(f"Checking drift of {len(features):,} rows"):
        report = detector.check(
            features,
            preds,
            metadata={"reference": version_label, "current": path.name, "quarantined": str(sum(reasons.values()))},
        )
    print_drift_table(report)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"drift_{spec.name}_{Path(path.name).stem}_{stamp}"
    json_path, html_path = write_report_files(report, profile, out_dir or settings.reports_path, stem)
    console.print(f"reports: {json_path}  {html_path}")
    if report.inconclusive_columns:
        raise fail(
            f"no drift score for {', '.join(report.inconclusive_columns)} "
            "(no comparable current values, e.g. all null): counted as drifted, the check does not pass"
        )


def print_drift_table(report: Any) -> None:
    """Per-feature verdicts as a Rich table, and the dataset verdict."""
    table = Table(
        title=f"Drift of {report.spec_name}: {report.n_current:,} current vs {report.n_reference:,} reference rows"
    )
    table.add_column("feature", no_wrap=True, min_width=20)
    table.add_column("method", no_wrap=True, min_width=13)
    for name in ("score", "threshold"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("drift", justify="center", no_wrap=True)
    table.add_column("nulls", justify="right", no_wrap=True)
    rows = list(report.columns) + ([report.prediction] if report.prediction else [])
    for c in rows:
        verdict = "[bold red]NO SCORE[/]" if c.inconclusive else "[bold red]DRIFT[/]" if c.drifted else "[green]ok[/]"
        table.add_row(
            c.column, c.method.value, "n/a" if c.inconclusive else f"{c.score:.4g}", f"{c.threshold:.4g}",
            verdict, f"{c.current_null_rate:.1%}",
        )  # fmt: skip
    console.print(table)
    verdict = "[bold red]DATASET DRIFT[/]" if report.dataset_drift else "[green]no dataset drift[/]"
    console.print(
        f"{verdict}: {report.n_drifted}/{len(report.columns)} features drifted "
        f"(share {report.share_drifted:.2f}, threshold {report.drift_share:.2f})"
    )


def _model_version(client: Any, name: str, ref: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, ref) if ref.isdigit() else client.get_model_version_by_alias(name, ref)
    except MlflowException as exc:
        raise NotFoundError(f"model {name!r} has no version or alias {ref!r}: {exc.message}") from None


# --------------------------------------------------------------------------- alerts commands
alerts_app = typer.Typer(help="Alerts: evaluate rules, list, acknowledge, silence.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

DEFAULT_ALERTING_CONFIG = Path("observability/alerting/alerting.yml")
#: Where ``tripcast serve`` publishes its metrics with its default host and port.
DEFAULT_METRICS_URL = "http://127.0.0.1:8000/metrics"
StateOption = Annotated[Path | None, typer.Option("--state", help="Alert state SQLite file (default data/alerts.db).")]
ConfigOption = Annotated[Path, typer.Option("--config", help="Alerting rules/channels YAML.")]


def _store(state: Path | None) -> Any:
    from tripcast.observability.alerting import AlertStore

    return AlertStore(state or Settings().data_dir / "alerts.db")


@alerts_app.command("list")
@user_errors
def alerts_list(
    state: StateOption = None,
    status: Annotated[str | None, typer.Option("--status", help="firing or resolved")] = None,
) -> None:
    """Recent alerts, newest first."""
    table = Table(title="Alerts")
    table.add_column("id", no_wrap=True, min_width=8)
    table.add_column("status", no_wrap=True, min_width=8)
    for name in ("rule", "severity", "since", "value", "ack", "labels"):
        table.add_column(name)
    for alert in _store(state).list(status=status):
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in {"alertname", "severity"})
        ack = f"{alert.acknowledged_by} {alert.acknowledged_at:%m-%d %H:%M}" if alert.acknowledged_at else ""
        colour = "red" if alert.status == "firing" else "green"
        table.add_row(
            alert.id, f"[{colour}]{alert.status}[/]", alert.rule, alert.severity,
            f"{alert.started_at:%m-%d %H:%M}", f"{alert.value:.4g}", ack, labels,
        )  # fmt: skip
    console.print(table)


@alerts_app.command("ack")
@user_errors
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="Alert id from `tripcast alerts list` or the notification.")],
    state: StateOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Who acknowledges (default: current user).")] = None,
) -> None:
    """Acknowledge an alert: no more repeats or escalation for it."""
    import getpass

    from tripcast.observability.alerting.clock import UtcClock

    record = _store(state).acknowledge(alert_id, by or getpass.getuser(), UtcClock().now())
    console.print(f"alert [bold]{record.id}[/] ({record.rule}) acknowledged by {record.acknowledged_by}")


@alerts_app.command("silence")
@user_errors
def alerts_silence(
    rule: Annotated[str, typer.Argument(help="Rule name, or * for every rule.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Length of the suppression window.")] = 60,
    reason: Annotated[str, typer.Option("--reason")] = "maintenance",
    state: StateOption = None,
) -> None:
    """Suppress notifications of a rule for a while (alerts are still recorded)."""
    from datetime import timedelta

    from tripcast.observability.alerting.clock import UtcClock

    now = UtcClock().now()
    silence_id = _store(state).add_silence(rule, now, now + timedelta(minutes=minutes), reason)
    console.print(f"silence {silence_id}: {rule} until {now + timedelta(minutes=minutes):%Y-%m-%d %H:%M} UTC")


@alerts_app.command("evaluate")
@user_errors
def alerts_evaluate(
    metrics_url: Annotated[
        str,
        typer.Option(
            "--metrics-url",
            envvar="TRIPCAST_METRICS_URL",
            help="Prometheus /metrics page to scrape: the local `tripcast serve` unless told otherwise.",
        ),
    ] = DEFAULT_METRICS_URL,
    config: ConfigOption = DEFAULT_ALERTING_CONFIG,
    state: StateOption = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between evaluations; 0 = once.")] = 0,
    iterations: Annotated[int, typer.Option("--iterations", help="Stop after this many ticks (0 = forever).")] = 0,
) -> None:
    """The monitoring job: scrape metrics, evaluate rules, notify."""
    import time

    import httpx

    from tripcast.observability.alerting import AlertManager, load_config, samples_from_text
    from tripcast.observability.alerting.clock import UtcClock

    manager = AlertManager(load_config(config), _store(state), UtcClock())
    tick = 0
    while True:
        tick += 1
        try:
            response = httpx.get(metrics_url, timeout=10)
            response.raise_for_status()
        except httpx.TransportError as exc:
            raise NotFoundError(
                f"nothing answers at {_without_password(metrics_url)} ({type(exc).__name__}); start `tripcast serve` "
                "or pass --metrics-url (TRIPCAST_METRICS_URL) of a running server"
            ) from None
        except httpx.HTTPStatusError as exc:
            raise NotFoundError(
                f"cannot scrape {_without_password(metrics_url)}: HTTP {exc.response.status_code}"
            ) from None
        deliveries = manager.evaluate(samples_from_text(response.text))
        for delivery in deliveries:
            n = delivery.notification
            console.print(f"{n.status:9s} {n.rule} [{n.severity}] -> {delivery.channel}: {n.summary}")
        console.print(f"tick {tick}: {len(manager.store.firing())} firing, {len(deliveries)} notifications sent")
        if interval <= 0 or (iterations and tick >= iterations):
            return
        time.sleep(interval)


def _without_password(url: str) -> str:
    """``url`` for messages: a password in it is masked."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(username=parsed.username, password="***")) if parsed.password else url


@alerts_app.command("export-rules")
@user_errors
def alerts_export_rules(
    config: ConfigOption = DEFAULT_ALERTING_CONFIG,
    output: Annotated[Path, typer.Option("--output")] = Path("observability/alerting/rules/tripcast.rules.yml"),
) -> None:
    """Write the Prometheus alerting rules for the configured rules (check them with promtool)."""
    from tripcast.observability.alerting import load_config
    from tripcast.observability.alerting.prometheus_rules import render_prometheus_rules

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_prometheus_rules(load_config(config)))
    console.print(f"Prometheus rules written to {output}")


# --------------------------------------------------------------------------- feature store commands
features_app = typer.Typer(help="Feature store (Feast): zone aggregates offline and online.", no_args_is_help=True)
app.add_typer(features_app, name="features")


def _parse_day(text: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError([FieldProblem(field_name, f"{text!r} is not a date like 2021-03-01")]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def feature_store(settings: Settings, online_url: str | None) -> Any:
    """The zone feature store under ``settings.feature_store_path`` (default ``<data_dir>/feature_store``)."""
    from tripcast.data_engineering.features.store_features import store_settings_from
    from tripcast.mlops.feature_store.store import ZoneFeatureStore

    return ZoneFeatureStore(
        store_settings_from(settings.feature_store_path, online_url or settings.feature_store_online_url)
    )


def _offline_tables(settings: Settings, offline_dir: Path, trips: list[Path], tlc: list[Path]) -> dict[str, Path]:
    from tripcast.mlops.feature_store.offline import build_tables_from_trips, collect_pipeline_tables

    if trips or tlc:
        frames = [pd.read_parquet(p) for p in trips]
        frames += [_validated_tlc(path) for path in tlc]
        return build_tables_from_trips(pd.concat(frames, ignore_index=True), offline_dir)
    try:
        return collect_pipeline_tables(settings.data_dir, offline_dir, settings.service)
    except NotFoundError:
        processed = sorted(settings.processed_path.glob(f"{settings.service}_tripdata_*.parquet"))
        if not processed:
            raise
        err_console.print(f"no pipeline output; using the validated months in {settings.processed_path}")
        frames = [pd.read_parquet(p) for p in processed]
        return build_tables_from_trips(pd.concat(frames, ignore_index=True), offline_dir)


def _validated_tlc(path: Path) -> pd.DataFrame:
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    month = month_from_file_name(path)
    if month is None:
        raise InvalidInputError([FieldProblem("tlc", f"{path.name}: file name states no month")])
    return PanderaTripValidator().split(RawDataset(read_tlc_file(path), month, str(path))).valid


@features_app.command("materialize")
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
    settings = Settings()
    start_at, end_at = _parse_day(start, "start"), _parse_day(end, "end")
    if end_at <= start_at:
        raise InvalidInputError([FieldProblem("end", f"{end} is not after {start}")])
    store = feature_store(settings, online_url)
    with step("Building offline tables"):
        paths = _offline_tables(settings, store.settings.offline_dir, trips or [], tlc or [])
    with step(f"Materializing {start_at:%Y-%m-%d %H:%M} .. {end_at:%Y-%m-%d %H:%M}"):
        store.materialize(start_at, end_at)
    table = Table(title="Feature store")
    for name in ("view", "offline rows", "staleness (s)"):
        table.add_column(name)
    freshness = store.freshness(end_at)
    for view, table_name in (("zone_hour_stats", "zone_hour"), ("zone_pair_stats", "zone_pair")):
        rows = len(pd.read_parquet(paths[table_name], columns=["pickup_zone"]))
        table.add_row(view, f"{rows:,}", f"{freshness[view]:.0f}")
    console.print(table)

"""``tripcast alerts list|ack|silence|evaluate|export-rules``: the alerting job and its state.

Each command bootstraps, then works through the alert store and manager the root builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripcast.cli.console import console, user_errors
from tripcast.core.domain.errors import NotFoundError

app = typer.Typer(help="Alerts: evaluate rules, list, acknowledge, silence.", no_args_is_help=True)

DEFAULT_ALERTING_CONFIG = Path("observability/alerting/alerting.yml")
#: Where ``tripcast serve`` publishes its metrics with its default host and port.
DEFAULT_METRICS_URL = "http://127.0.0.1:8000/metrics"
StateOption = Annotated[Path | None, typer.Option("--state", help="Alert state SQLite file (default data/alerts.db).")]
ConfigOption = Annotated[Path, typer.Option("--config", help="Alerting rules/channels YAML.")]


def _store(state: Path | None) -> Any:
    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.monitoring import alert_store

    return alert_store(bootstrap(), state)


def _now() -> Any:
    from tripcast.bootstrap import bootstrap

    return bootstrap().clock.now()


@app.command("list")
@user_errors
def alerts_list(
    state: StateOption = None,
    status: Annotated[str | None, typer.Option("--status", help="firing or resolved")] = None,
) -> None:
    """Recent alerts, newest first."""
    from rich.table import Table

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


@app.command("ack")
@user_errors
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="Alert id from `tripcast alerts list` or the notification.")],
    state: StateOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Who acknowledges (default: current user).")] = None,
) -> None:
    """Acknowledge an alert: no more repeats or escalation for it."""
    import getpass

    record = _store(state).acknowledge(alert_id, by or getpass.getuser(), _now())
    console.print(f"alert [bold]{record.id}[/] ({record.rule}) acknowledged by {record.acknowledged_by}")


@app.command("silence")
@user_errors
def alerts_silence(
    rule: Annotated[str, typer.Argument(help="Rule name, or * for every rule.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Length of the suppression window.")] = 60,
    reason: Annotated[str, typer.Option("--reason")] = "maintenance",
    state: StateOption = None,
) -> None:
    """Suppress notifications of a rule for a while (alerts are still recorded)."""
    from datetime import timedelta

    now = _now()
    silence_id = _store(state).add_silence(rule, now, now + timedelta(minutes=minutes), reason)
    console.print(f"silence {silence_id}: {rule} until {now + timedelta(minutes=minutes):%Y-%m-%d %H:%M} UTC")


@app.command("evaluate")
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

    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.monitoring import alert_manager

    manager = alert_manager(bootstrap(), config, state)
    tick = 0
    while True:
        tick += 1
        deliveries = manager.evaluate(_scrape(metrics_url))
        for delivery in deliveries:
            n = delivery.notification
            console.print(f"{n.status:9s} {n.rule} [{n.severity}] -> {delivery.channel}: {n.summary}")
        console.print(f"tick {tick}: {len(manager.store.firing())} firing, {len(deliveries)} notifications sent")
        if interval <= 0 or (iterations and tick >= iterations):
            return
        time.sleep(interval)


def _scrape(metrics_url: str) -> Any:
    """The samples of a Prometheus /metrics page, with a one-line error when nothing answers."""
    import httpx

    from tripcast.bootstrap.monitoring import metric_samples

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
    return metric_samples(response.text)


def _without_password(url: str) -> str:
    """``url`` for messages: a password in it is masked."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(username=parsed.username, password="***")) if parsed.password else url


@app.command("export-rules")
@user_errors
def alerts_export_rules(
    config: ConfigOption = DEFAULT_ALERTING_CONFIG,
    output: Annotated[Path, typer.Option("--output")] = Path("observability/alerting/rules/tripcast.rules.yml"),
) -> None:
    """Write the Prometheus alerting rules for the configured rules (check them with promtool)."""
    from tripcast.bootstrap.monitoring import prometheus_rules

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(prometheus_rules(config))
    console.print(f"Prometheus rules written to {output}")

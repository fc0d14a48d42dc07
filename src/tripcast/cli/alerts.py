"""``tripcast alerts``: what fires and who hears of it, through Prometheus Alertmanager.

Prometheus evaluates the rules (``export-rules``); Alertmanager routes, groups, inhibits and repeats
(``export-config``). These commands read and change what Alertmanager holds: list, silence a rule,
acknowledge one alert (a silence of its exact labels), raise an alert by hand. Each bootstraps, then calls
the alert use cases the root builds.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from tripcast.cli.console import console, print_json, user_errors

app = typer.Typer(help="Alerts through Alertmanager: list, silence, acknowledge, raise; export rules and config.",
                  no_args_is_help=True)  # fmt: skip

DEFAULT_ALERTING_CONFIG = Path("observability/alerting/alerting.yml")
ConfigOption = Annotated[Path, typer.Option("--config", help="Alerting rules/channels YAML.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who (default: the OS user).")]


def _operations() -> Any:
    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.monitoring import alert_operations

    return alert_operations(bootstrap())


@app.command("list")
@user_errors
def alerts_list(
    state: Annotated[str | None, typer.Option("--state", help="active or suppressed")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Alerts Alertmanager holds now, newest first (TRIPCAST_ALERTMANAGER_URL)."""
    from rich.table import Table

    alerts = _operations().alerts(state=state)
    if as_json:
        print_json({"alerts": [_as_dict(alert) for alert in alerts]})
        return
    table = Table("id", "state", "alert", "severity", "since (UTC)", "summary", "labels", title="Alerts")
    for alert in alerts:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in {"alertname", "severity"})
        colour = "red" if alert.state == "active" else "dim"
        table.add_row(alert.fingerprint[:12], f"[{colour}]{alert.state}[/]", alert.name, alert.severity,
                      f"{alert.starts_at:%m-%d %H:%M}", alert.summary, labels)  # fmt: skip
    console.print(table)


@app.command("ack")
@user_errors
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="The id `tripcast alerts list` shows (a prefix will do).")],
    by: ByOption = None,
    minutes: Annotated[float, typer.Option("--minutes", help="How long repeats and escalation stop.")] = 240,
) -> None:
    """Acknowledge one alert: no more repeats or escalation for it (a silence of its exact labels)."""
    alert, silence = _operations().acknowledge(alert_id, by=by or getpass.getuser(), minutes=minutes)
    console.print(f"acknowledged {alert.name} ({alert.fingerprint[:12]}): silence {silence}")


@app.command("silence")
@user_errors
def alerts_silence(
    rule: Annotated[str, typer.Argument(help="The alert rule (alertname) to silence.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Length of the silence.")] = 60,
    reason: Annotated[str, typer.Option("--reason")] = "maintenance",
    by: ByOption = None,
) -> None:
    """Silence every alert of a rule for a while (maintenance)."""
    silence = _operations().silence_rule(rule, minutes=minutes, by=by or getpass.getuser(), reason=reason)
    console.print(f"silenced {rule} for {minutes:g} min: silence {silence}")


@app.command("raise")
@user_errors
def alerts_raise(
    name: Annotated[str, typer.Argument(help="Alert name (alertname).")],
    summary: Annotated[str, typer.Option("--summary", help="What happened.")],
    severity: Annotated[str, typer.Option("--severity", help="info, warning or critical")] = "warning",
    label: Annotated[list[str] | None, typer.Option("--label", help="key=value, repeatable")] = None,
    by: ByOption = None,
) -> None:
    """Raise an alert by hand (routed, grouped and inhibited like a rule's)."""
    from tripcast.core.domain.errors import FieldProblem, InvalidInputError
    from tripcast.core.ports.alerting import AlertNotice

    pairs = [item.partition("=") for item in label or []]
    if any(not key or not sep for key, sep, _ in pairs):
        raise InvalidInputError([FieldProblem("--label", "each label is key=value")])
    notice = AlertNotice(name, severity, summary, {key: value for key, _, value in pairs})
    _operations().raise_alerts([notice], by=by or getpass.getuser())
    console.print(f"raised {name} ({severity})")


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


@app.command("export-config")
@user_errors
def alerts_export_config(
    config: ConfigOption = DEFAULT_ALERTING_CONFIG,
    output: Annotated[Path, typer.Option("--output")] = Path("observability/alerting/alertmanager.yml"),
) -> None:
    """Write Alertmanager's configuration: receivers, routes by severity, inhibition, repeats (amtool-checked)."""
    from tripcast.bootstrap.monitoring import alertmanager_config

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(alertmanager_config(config))
    console.print(f"Alertmanager configuration written to {output}")


def _as_dict(alert: Any) -> dict[str, Any]:
    return {
        "id": alert.fingerprint, "name": alert.name, "severity": alert.severity, "state": alert.state,
        "summary": alert.summary, "labels": alert.labels, "starts_at": alert.starts_at.isoformat(),
        "silenced_by": list(alert.silenced_by), "inhibited_by": list(alert.inhibited_by),
    }  # fmt: skip

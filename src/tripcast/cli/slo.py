"""Observability commands: ``tripcast slo validate|export-rules|report`` and ``tripcast dashboards export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, print_json, user_errors
from tripcast.cli.options import context

app = typer.Typer(no_args_is_help=True)
#: ``tripcast dashboards``.
dashboards_app = typer.Typer(no_args_is_help=True)
SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="SLO spec (default: TRIPCAST_SLO_SPEC_FILE, else the repository's).")
]


@app.command("validate")
@user_errors
def slo_validate(spec: SpecOption = None) -> None:
    """Check the SLO spec; each bad field is named."""
    names = context(None).observability.slo_objectives(spec)
    console.print(f"[green]valid[/]: {len(names)} objectives ({', '.join(names)})")


@app.command("export-rules")
@user_errors
def slo_export_rules(
    spec: SpecOption = None,
    output: Annotated[Path, typer.Option("--output", help="Rule file to write (Prometheus format).")] = Path(
        "observability/sli_slo/rules/tripcast-slo.rules.yml"
    ),
) -> None:
    """Generate the multi-window multi-burn-rate recording and alert rules (check them with `promtool check rules`)."""
    rules = context(None).observability.slo_rules(spec)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rules)
    console.print(f"wrote {output}")


@app.command("report")
@user_errors
def slo_report(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Error budget left and burn rates of every objective, read from Prometheus (TRIPCAST_PROMETHEUS_URL)."""
    statuses = context(None).observability.slo_reporting.report()
    if as_json:
        print_json({"objectives": [status.to_dict() for status in statuses]})
        return
    table = Table("objective", "target", "budget left", "burn 5m", "burn 1h", "burn 6h", "burn 3d", "state")
    for status in statuses:
        table.add_row(
            status.name,
            f"{status.objective:.2%}",
            _percent(status.budget_remaining),
            *(_times(status.burn_rates.get(window)) for window in ("5m", "1h", "6h", "3d")),
            _state(status.state),
        )
    console.print(table)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _state(state: str) -> str:
    colour = {"page": "bold red", "ticket": "yellow", "ok": "green"}.get(state, "dim")
    return f"[{colour}]{state}[/]"


@dashboards_app.command("export")
@user_errors
def dashboards_export(
    out: Annotated[Path, typer.Option("--out", help="Folder for the dashboard JSON files.")] = Path(
        "observability/dashboards/grafana"
    ),
) -> None:
    """Write the Grafana dashboards (serving, model, data, SLOs, experiments), built with Grafana's Foundation SDK."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in context(None).observability.dashboards().items():
        (out / name).write_text(text)
        console.print(f"wrote {out / name}")

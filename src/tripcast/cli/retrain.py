"""``tripcast retrain``: automated retraining (run a month, watch for new months, guard the champion, status).

Progress goes to stderr; with ``--json`` stdout carries only the JSON document.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tripcast.bootstrap import Tripcast
from tripcast.cli.console import console, err_console, print_json, step, user_errors
from tripcast.cli.options import context
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import RetrainRun

app = typer.Typer(no_args_is_help=True, help="Automated retraining: triggers, challenger, decision, guardrail.")


@app.command("run")
@user_errors
def run_command(
    month: Annotated[
        str, typer.Option("--month", help="YYYY-MM: the month that arrived (evaluated on, not trained on)")
    ],
    source: Annotated[
        Path | None, typer.Option("--source", help="A TLC file of that month, or a folder of monthly files")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even when decided already or no trigger fires")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON (stdout: JSON only)")] = False,
) -> None:
    """Ingest -> validate -> train a challenger on the recent window -> evaluate both -> gate -> decide."""
    parsed = Month.parse(month)
    folder = source if source is not None and source.is_dir() else None
    ctx = context(folder)
    file = str(source) if source is not None and folder is None else None
    with step(f"retraining {ctx.settings.model_name} for {parsed}"):
        outcome = ctx.retraining.run(parsed, source=file, force=force, actor=getpass.getuser())
    if as_json:
        print_json(outcome.to_dict())
        return
    print_run(outcome.run, note=_note(outcome.reused, outcome.resumed), seconds=outcome.seconds)


def _note(reused: bool, resumed: bool) -> str:
    if reused:
        return " (decided earlier: the recorded decision; --force retrains)"
    return " (resumed after training)" if resumed else ""


def print_run(run: RetrainRun, *, note: str = "", seconds: float | None = None) -> None:
    """A run as a human reads it."""
    out = console
    out.print(f"[bold]{run.model} {run.month}[/]: [bold]{run.decision or run.stage.value}[/]{note}")
    for trigger in run.triggers:
        mark = "[green]fired[/]" if trigger.fired else "quiet"
        out.print(f"  trigger {trigger.name}: {mark}: {trigger.why}", highlight=False)
    if run.window:
        out.print(f"  window: {', '.join(run.window)} -> challenger v{run.challenger_version or '-'}")
    if run.challenger_metrics:
        table = Table("model", "version", *sorted(run.challenger_metrics), title=f"on {run.evaluation_data}")
        for label, version, metrics in (
            ("champion", run.champion_version, run.champion_metrics),
            ("challenger", run.challenger_version, run.challenger_metrics),
        ):
            table.add_row(
                label, version or "-", *(f"{metrics.get(k, float('nan')):.4f}" for k in sorted(run.challenger_metrics))
            )
        out.print(table)
    if run.decision_detail:
        out.print(f"  {run.decision_detail}", highlight=False)
    if seconds is not None:
        out.print(f"  {seconds:.1f} s; stages: {run.stage_seconds}", highlight=False)


@app.command("guard")
@user_errors
def guard_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON (stdout: JSON only)")] = False,
) -> None:
    """Roll the champion back (and alert) when its live error is worse than the previous champion's."""
    verdict = context().retraining.guard(actor=f"retrain-guardrail:{getpass.getuser()}")
    if as_json:
        print_json(verdict.to_dict())
        return
    colour = {"rolled_back": "red", "ok": "green"}.get(verdict.action, "yellow")
    console.print(f"guardrail: [{colour}]{verdict.action}[/]: {verdict.why}", highlight=False, soft_wrap=True)


@app.command("watch")
@user_errors
def watch_command(
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between checks (default: retraining_watch_seconds)")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Check once and exit")] = False,
    source: Annotated[Path | None, typer.Option("--source", help="A folder of monthly TLC files to watch")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each check as one JSON line")] = False,
) -> None:
    """Run the triggers (and, when one fires, a retrain) for the newest month with data, on a schedule."""
    while True:
        ctx = context(source)
        payload = watch_once(ctx)
        if as_json:
            print_json(payload)
        else:
            err_console.print(f"watch: {payload.get('month', '-')}: {payload['decision']}", highlight=False)
        if once:
            return
        time.sleep(interval if interval is not None else ctx.settings.retraining_watch_seconds)


def watch_once(ctx: Tripcast) -> dict[str, Any]:
    """One check of ``watch``: the newest available month's run (a recorded decision is reused)."""
    month = ctx.retraining.data.newest_available()
    if month is None:
        return {"decision": "no_data", "detail": "no month with data on hand"}
    outcome = ctx.retraining.run(month, actor=f"retrain-watch:{getpass.getuser()}")
    return {**outcome.to_dict(), "month": str(month)}


@app.command("status")
@user_errors
def status_command(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest runs to show")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON")] = False,
) -> None:
    """The recorded runs, newest month first: stage, trigger(s), window, versions, decision."""
    runs = context().retraining.status(limit)
    if as_json:
        print_json({"runs": [r.to_dict() for r in runs]})
        return
    if not runs:
        err_console.print("no retraining runs yet: `tripcast retrain run --month YYYY-MM`")
        return
    table = Table("month", "stage", "triggers", "window", "champion", "challenger", "decision")
    for r in runs:
        fired = ", ".join(t.name for t in r.fired) or "-"
        table.add_row(
            r.month, r.stage.value, fired, ",".join(r.window), r.champion_version, r.challenger_version, r.decision
        )
    console.print(table)

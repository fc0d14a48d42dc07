"""``tripcast experiments create|start|stop|decide|status|list|sample-size|analyze``: experiments on models.

Commands that change an experiment act as the API key given with ``--as`` (or ``TRIPCAST_TOKEN``), so the
CLI and the API enforce the same roles: operators create, start and stop; approvers decide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tripcast.cli.approvals import AsOption, identity_of
from tripcast.cli.console import console, print_json, user_errors
from tripcast.cli.options import context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.experiment import Experiment, ExperimentState, experiment_payload, parse_verdict

app = typer.Typer(no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (only JSON) on stdout.")]
IdArgument = Annotated[str, typer.Argument(help="The experiment's id.")]


def _show(experiment: Experiment, as_json: bool, exposures: dict[str, int] | None = None) -> None:
    if as_json:
        print_json(experiment_payload(experiment, exposures))
        return
    d = experiment.definition
    arms = ", ".join(f"{a.name}={a.model_ref} ({a.weight:.0%})" for a in d.arms)
    console.print(
        f"experiment [bold]{d.experiment_id}[/] on {d.model_name} ({d.mode.value}) is "
        f"[bold]{experiment.state.value}[/]: {arms}"
    )
    if experiment.verdict is not None:
        console.print(f"verdict: {experiment.verdict.value}")
    if exposures is not None:
        counts = ", ".join(f"{arm} {n:,}" for arm, n in exposures.items()) or "none yet"
        console.print(f"exposures: {counts}")


@app.command()
@user_errors
def create(
    file: Annotated[
        Path, typer.Argument(help="The definition (YAML), e.g. environments/local/experiments/example_ab.yaml.")
    ],
    token: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Define an experiment (a draft) from a YAML file; arms must name existing versions or aliases."""
    ctx = context(None)
    actor = identity_of(ctx, token)
    definition = ctx.experiments.read_definition(file)
    _show(ctx.experiments.service.create(definition, actor=actor), as_json)


@app.command()
@user_errors
def start(experiment_id: IdArgument, token: AsOption = None, as_json: JsonOption = False) -> None:
    """Start the experiment: running servers route traffic to its arms within a poll interval."""
    ctx = context(None)
    _show(ctx.experiments.service.start(experiment_id, actor=identity_of(ctx, token)), as_json)


@app.command()
@user_errors
def stop(experiment_id: IdArgument, token: AsOption = None, as_json: JsonOption = False) -> None:
    """Stop the experiment: the champion answers everyone again; exposures stay for the analysis."""
    ctx = context(None)
    _show(ctx.experiments.service.stop(experiment_id, actor=identity_of(ctx, token)), as_json)


@app.command()
@user_errors
def decide(
    experiment_id: IdArgument,
    verdict: Annotated[str, typer.Option("--verdict", help="ship, 'keep champion', continue or invalid")],
    token: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the decision on a stopped experiment (approvers)."""
    chosen = parse_verdict(verdict, "--verdict")
    ctx = context(None)
    _show(ctx.experiments.service.decide(experiment_id, chosen, actor=identity_of(ctx, token)), as_json)


@app.command()
@user_errors
def status(
    experiment_id: Annotated[str | None, typer.Argument(help="The experiment (default: every running one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """An experiment's state and exposures per arm (without an id: the running experiments)."""
    service = context(None).experiments.service
    if experiment_id is not None:
        found = service.status(experiment_id)
        _show(found.experiment, as_json, found.exposures)
        return
    running = [service.status(e.definition.experiment_id) for e in service.list(ExperimentState.RUNNING)]
    if as_json:
        print_json({"experiments": [experiment_payload(s.experiment, s.exposures) for s in running]})
        return
    if not running:
        console.print("no experiment is running")
    for found in running:
        _show(found.experiment, False, found.exposures)


@app.command("list")
@user_errors
def list_command(
    state: Annotated[str | None, typer.Option("--state", help="draft, running, stopped or decided")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every experiment, oldest first."""
    chosen = None
    if state is not None:
        try:
            chosen = ExperimentState(state.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in ExperimentState)
            raise InvalidInputError([FieldProblem("--state", f"{state!r} is not a state; use {allowed}")]) from None
    experiments = context(None).experiments.service.list(chosen)
    if as_json:
        print_json({"experiments": [experiment_payload(e) for e in experiments]})
        return
    table = Table("id", "model", "mode", "state", "arms", "verdict", title="experiments")
    for e in experiments:
        d = e.definition
        arms = ", ".join(f"{a.name}={a.model_ref}" for a in d.arms)
        table.add_row(d.experiment_id, d.model_name, d.mode.value, e.state.value, arms, e.verdict or "-")
    console.print(table)


@app.command("sample-size")
@user_errors
def sample_size(
    experiment_id: IdArgument,
    baseline_mean: Annotated[float, typer.Option("--baseline-mean", help="The control's mean outcome.")],
    baseline_std: Annotated[float, typer.Option("--baseline-std", help="The outcome's standard deviation.")],
    as_json: JsonOption = False,
) -> None:
    """Units per arm needed to detect the definition's minimum detectable effect at its alpha and power."""
    n = context(None).experiments.service.sample_size(experiment_id, baseline_mean, baseline_std)
    if as_json:
        print_json({"experiment": experiment_id, "n_per_arm": n})
        return
    console.print(f"{n:,} units per arm")


@app.command()
@user_errors
def analyze(
    experiment_id: IdArgument,
    as_json: JsonOption = False,
    report: Annotated[Path | None, typer.Option("--report", help="Also write an HTML report there.")] = None,
) -> None:
    """Join exposures to their actual outcomes and apply the pre-registered rule: the verdict and its numbers."""
    from tripcast.bootstrap.experiments import analysis_payload, write_report

    result = context(None).experiments.service.analyze(experiment_id)
    if report is not None:
        write_report(result, report)
    payload: dict[str, Any] = analysis_payload(result)
    if as_json:
        print_json(payload)
        return
    console.print(
        f"verdict [bold]{result.verdict.value}[/]: effect {result.effect:+.4g} "
        f"[{result.ci_low:+.4g}, {result.ci_high:+.4g}], SRM p={result.srm_p:.3g}, n per arm {result.n_per_arm}"
    )
    console.print(f"rule: {result.rule}")

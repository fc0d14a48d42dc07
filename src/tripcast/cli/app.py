"""``tripcast``: the root command; each command group lives in its own module."""

from __future__ import annotations

import os
from typing import Any  # level: expert

import typer

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


#: Help of each command group registered here (a dict, so that each registration stays one line).
_HELP: dict[str, str] = {}
_HELP["slo"] = "Service level objectives: validate, export rules, report budgets."  # level: advanced
_HELP["dashboards"] = "Grafana dashboards as code: export the JSON."  # level: advanced
_HELP["pipeline"] = "Data pipelines: ingest, validate, transform, export."  # level: advanced
_HELP["tokens"] = "API keys with roles for the HTTP API: create, revoke, list."  # level: intermediate
_HELP["feedback"] = "Ground truth: actual outcomes, live error, concept drift."  # level: expert
_HELP["retrain"] = "Automated retraining: triggers, challenger, decision, guardrail."  # level: expert
_HELP["experiments"] = "Experiments: A/B, shadow and canary on served models."  # level: expert


def _register_command_groups(root: typer.Typer) -> None:
    """Add every command group's commands to ``root``, in the order a newcomer meets them.

    The imports sit in this function, one line per learning level (``tripcast.levels``): this module is the
    CLI's assembler. Every line naming a higher level carries a ``# level:`` marker, so a project cut at a
    lower level (``tripcast.generator``) drops exactly those lines and keeps a working CLI.
    Command modules import their heavy libraries inside the commands, so this stays fast for ``--help``.
    """
    # One line per level: keep them apart (isort would merge them).
    from tripcast.cli import audit, data, demo, ingest, models, predict, scoring  # beginner

    # isort: split
    from tripcast.cli import monitoring, serving, tokens  # level: intermediate

    # isort: split
    from tripcast.cli import alerts, optimize, pipeline, slo  # level: advanced

    # isort: split
    from tripcast.cli import approvals, cards, experiment_replay, experiments  # level: expert

    # isort: split
    from tripcast.cli import feedback, ledger, retrain  # level: expert

    root.command()(demo.demo)
    groups: list[typer.Typer] = [ingest.app, data.app, models.app, predict.app, audit.app]
    groups += [serving.app]  # level: intermediate
    groups += [scoring.app]
    groups += [optimize.app]  # level: advanced
    groups += [monitoring.app]  # level: intermediate
    for group in groups:
        root.registered_commands.extend(group.registered_commands)
        root.registered_groups.extend(group.registered_groups)
    _register_expert(root, models.models_app, ledger, cards, approvals)  # level: expert
    root.add_typer(alerts.app, name="alerts")  # level: advanced
    root.add_typer(slo.app, name="slo", help=_HELP["slo"])  # level: advanced
    root.add_typer(slo.dashboards_app, name="dashboards", help=_HELP["dashboards"])  # level: advanced
    root.add_typer(pipeline.app, name="pipeline", help=_HELP["pipeline"])  # level: advanced
    root.add_typer(tokens.app, name="tokens", help=_HELP["tokens"])  # level: intermediate
    root.add_typer(feedback.app, name="feedback", help=_HELP["feedback"])  # level: expert
    root.add_typer(retrain.app, name="retrain", help=_HELP["retrain"])  # level: expert
    experiments.app.registered_commands.extend(experiment_replay.app.registered_commands)  # level: expert
    root.add_typer(experiments.app, name="experiments", help=_HELP["experiments"])  # level: expert


def _register_expert(root: typer.Typer, models_app: typer.Typer, *groups: Any) -> None:  # level: expert
    """The expert commands under ``tripcast models``: ``history`` (and ``tripcast rollback``), ``card``,
    ``request|approve|reject|approvals``."""
    ledger, *subcommands = groups
    root.registered_commands.extend(ledger.app.registered_commands)  # `tripcast rollback`
    models_app.registered_commands.extend(ledger.models_app.registered_commands)  # `tripcast models history`
    for group in subcommands:
        models_app.registered_commands.extend(group.app.registered_commands)


_register_command_groups(app)


def _register_generator(root: typer.Typer) -> None:
    """``tripcast new`` and ``tripcast upgrade``: the project generator (issue 17) ships at every level."""
    from tripcast.cli import generator, upgrade

    root.registered_commands.extend(generator.app.registered_commands)
    root.registered_commands.extend(upgrade.app.registered_commands)


_register_generator(app)


def main() -> None:
    """Console-script entry point."""
    app()

"""``tripcast``: the root command; each command group lives in its own module."""

from __future__ import annotations

import os

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


def _register_command_groups(root: typer.Typer) -> None:
    """Add every command group's commands to ``root``, in the order a newcomer meets them.

    The imports sit in this function, one line per learning level (``tripcast.levels``): this module is the
    CLI's assembler, and a project cut at a lower level drops the lines of the levels it leaves out.
    Command modules import their heavy libraries inside the commands, so this stays fast for ``--help``.
    """
    # One line per level: keep them apart (isort would merge them).
    from tripcast.cli import audit, data, demo, ingest, models, predict, scoring  # beginner

    # isort: split
    from tripcast.cli import monitoring, serving, tokens  # intermediate

    # isort: split
    from tripcast.cli import alerts, optimize, pipeline, slo  # advanced

    # isort: split
    from tripcast.cli import approvals, cards, experiment_replay, experiments, feedback, ledger, retrain  # expert

    root.command()(demo.demo)
    for group in (ingest, data, models, predict, audit, serving, scoring, optimize, monitoring):
        root.registered_commands.extend(group.app.registered_commands)
        root.registered_groups.extend(group.app.registered_groups)
    root.registered_commands.extend(ledger.app.registered_commands)  # expert: `tripcast rollback`
    models.models_app.registered_commands.extend(ledger.models_app.registered_commands)  # `tripcast models history`
    root.add_typer(alerts.app, name="alerts")
    root.add_typer(slo.app, name="slo", help="Service level objectives: validate, export rules, report budgets.")
    root.add_typer(slo.dashboards_app, name="dashboards", help="Grafana dashboards as code: export the JSON.")
    root.add_typer(pipeline.app, name="pipeline", help="Data pipelines: ingest, validate, transform, export.")
    root.add_typer(tokens.app, name="tokens", help="API keys with roles for the HTTP API: create, revoke, list.")
    for subcommands in (cards, approvals):  # expert: `tripcast models card|request|approve|reject|approvals`
        models.models_app.registered_commands.extend(subcommands.app.registered_commands)
    root.add_typer(feedback.app, name="feedback", help="Ground truth: actual outcomes, live error, concept drift.")
    root.add_typer(retrain.app, name="retrain", help="Automated retraining: triggers, challenger, decision, guardrail.")
    experiments.app.registered_commands.extend(experiment_replay.app.registered_commands)  # `experiments replay`
    root.add_typer(experiments.app, name="experiments", help="Experiments: A/B, shadow and canary on served models.")


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

"""``tripcast``: the root command; each command group lives in its own module."""

from __future__ import annotations

import os

import typer

from tripcast.cli import audit, data, ingest, models, monitoring, optimize, pipeline, predict, scoring, serving, tokens
from tripcast.cli.demo import demo

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

# Top-level commands come from their modules, in the order a newcomer meets them.
app.command()(demo)
for _sub in (
    ingest.app,
    data.app,
    models.app,
    predict.app,
    audit.app,
    serving.app,
    scoring.app,
    optimize.app,
    monitoring.app,
):
    app.registered_commands.extend(_sub.registered_commands)
    app.registered_groups.extend(_sub.registered_groups)
app.add_typer(pipeline.app, name="pipeline", help="Data pipelines: ingest, validate, transform, export.")
app.add_typer(tokens.app, name="tokens", help="API keys with roles for the HTTP API: create, revoke, list.")


def main() -> None:
    """Console-script entry point."""
    app()

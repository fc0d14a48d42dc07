"""``tripcast drift|features``: the intermediate monitoring command groups (``alerts`` is advanced: cli/app.py)."""

from __future__ import annotations

import typer

from tripcast.cli import drift, features

app = typer.Typer(help="Monitoring: data drift and the feature store.", no_args_is_help=True)
app.add_typer(drift.app, name="drift")
app.add_typer(features.app, name="features")

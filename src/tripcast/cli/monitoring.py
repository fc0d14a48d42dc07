"""``tripcast drift|alerts|features``: the monitoring command groups, gathered from their modules."""

from __future__ import annotations

import typer

from tripcast.cli import alerts, drift, features

app = typer.Typer(help="Monitoring: data drift, alerts and the feature store.", no_args_is_help=True)
app.add_typer(drift.app, name="drift")
app.add_typer(alerts.app, name="alerts")
app.add_typer(features.app, name="features")

"""Alerting: rules as configuration, turned into Prometheus rules (what fires) and Alertmanager's
configuration (who hears of it: routes, grouping, inhibition, repeats); Alertmanager's API for the rest."""

from tripcast.observability.alerting.config import AlertingConfig, AlertRule, Severity, load_config, parse_config

__all__ = ["AlertRule", "AlertingConfig", "Severity", "load_config", "parse_config"]

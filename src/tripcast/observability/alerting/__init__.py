"""Alerting: rules as configuration, channels (log, webhook, e-mail), dedup, escalation, acknowledgement."""

from tripcast.observability.alerting.channels import EmailChannel, LogChannel, Notification, WebhookChannel
from tripcast.observability.alerting.config import AlertingConfig, AlertRule, Severity, load_config, parse_config
from tripcast.observability.alerting.manager import (
    AlertManager,
    Delivery,
    Sample,
    samples_from_mapping,
    samples_from_registry,
    samples_from_text,
)
from tripcast.observability.alerting.state import AlertRecord, AlertStore

__all__ = [
    "AlertManager",
    "AlertRecord",
    "AlertRule",
    "AlertStore",
    "AlertingConfig",
    "Delivery",
    "EmailChannel",
    "LogChannel",
    "Notification",
    "Sample",
    "Severity",
    "WebhookChannel",
    "load_config",
    "parse_config",
    "samples_from_mapping",
    "samples_from_registry",
    "samples_from_text",
]

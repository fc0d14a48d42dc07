"""The retraining guardrail's alerter: a structured log line always, and the alert raised in Alertmanager,
which routes it like any rule's alert (severity routes, grouping, inhibition, silences).

The use case records the audit event ``retrain.guardrail_alert`` whatever happens here.
"""

from __future__ import annotations

import logging

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.retraining import Alert
from tripcast.core.ports.alerting import AlertGateway, AlertNotice
from tripcast.core.ports.retraining import Alerter

log = logging.getLogger("tripcast.alerts")


class AlertmanagerAlerter(Alerter):
    """Logs the alert, then raises it through ``gateway``; fails (after logging) only when it could not be raised."""

    def __init__(self, gateway: AlertGateway) -> None:
        self.gateway = gateway

    def send(self, alert: Alert) -> None:
        log.warning("%s (%s): %s [%s]", alert.name, alert.severity, alert.summary, alert.subject)
        labels = {**alert.labels, "subject": alert.subject, "value": f"{alert.value:.6g}"}
        try:
            self.gateway.send([AlertNotice(alert.name, alert.severity, alert.summary, labels)])
        except TripcastError as exc:
            raise TripcastError(f"the alert is in the log, but Alertmanager did not take it: {exc}") from None

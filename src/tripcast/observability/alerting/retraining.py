"""The retraining guardrail's alerter: the existing channels (the log always, a webhook when configured).

Kept thin on purpose: issue #15 routes alerts through Prometheus Alertmanager later. The use case records
the audit event ``retrain.guardrail_alert`` whatever happens here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.retraining import Alert
from tripcast.core.ports.retraining import Alerter
from tripcast.observability.alerting.channels import Channel, LogChannel, Notification, WebhookChannel


class ChannelAlerter(Alerter):
    """Sends an alert to every channel; fails only when none delivered it."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self.channels = tuple(channels)

    @classmethod
    def from_webhook(cls, webhook_url: str | None) -> ChannelAlerter:
        """The log channel, plus a webhook when a URL is configured."""
        channels: list[Channel] = [LogChannel()]
        if webhook_url:
            channels.append(WebhookChannel("retraining-webhook", webhook_url))
        return cls(channels)

    def send(self, alert: Alert) -> None:
        notification = Notification(
            alert_id=uuid.uuid4().hex[:12],
            rule=alert.name,
            severity=alert.severity,
            status="firing",
            summary=alert.summary,
            value=alert.value,
            labels={**alert.labels, "subject": alert.subject},
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        failures = []
        for channel in self.channels:
            try:
                channel.send(notification)
            except TripcastError as exc:
                failures.append(f"{channel.name}: {exc}")
        if len(failures) == len(self.channels):
            raise TripcastError("no channel delivered the alert: " + "; ".join(failures))

"""Where notifications go: the log, a Slack-compatible webhook, e-mail over SMTP."""

from __future__ import annotations

import logging
import smtplib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from tripcast.core.domain.errors import TripcastError
from tripcast.observability.alerting.config import ChannelConfig

log = logging.getLogger("tripcast.alerts")


class DeliveryError(TripcastError):
    """A channel could not deliver a notification."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about one alert."""

    alert_id: str
    rule: str
    severity: str
    status: str  # firing | resolved | escalated
    summary: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    started_at: str = ""

    @property
    def title(self) -> str:
        return f"[{self.status.upper()}][{self.severity}] {self.rule}"

    def text(self) -> str:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return (
            f"{self.title}: {self.summary}\nvalue={self.value:.4g} labels: {labels}\n"
            f"alert id {self.alert_id} (acknowledge: tripcast alerts ack {self.alert_id}); since {self.started_at}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "summary": self.summary,
            "value": self.value,
            "labels": self.labels,
            "started_at": self.started_at,
        }


class Channel(ABC):
    """A notification destination."""

    name: str

    @abstractmethod
    def send(self, notification: Notification) -> None:
        """Deliver or raise :class:`DeliveryError`."""


class LogChannel(Channel):
    """Writes notifications to the ``tripcast.alerts`` logger."""

    def __init__(self, name: str = "log") -> None:
        self.name = name

    def send(self, notification: Notification) -> None:
        level = logging.ERROR if notification.severity == "critical" else logging.WARNING
        log.log(level, notification.text())


class WebhookChannel(Channel):
    """POSTs Slack-compatible JSON (``text`` plus structured ``attachments``) to a URL."""

    def __init__(self, name: str, url: str, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.name = name
        self.url = url
        self._client = client or httpx.Client(timeout=timeout)

    def send(self, notification: Notification) -> None:
        colour = {"critical": "#b00020", "warning": "#f9a825"}.get(notification.severity, "#1976d2")
        if notification.status == "resolved":
            colour = "#1b5e20"
        payload = {
            "text": notification.text(),
            "attachments": [
                {
                    "color": colour,
                    "title": notification.title,
                    "text": notification.summary,
                    "fields": [{"title": k, "value": v, "short": True} for k, v in sorted(notification.labels.items())],
                }
            ],
            "tripcast": notification.to_dict(),
        }
        try:
            response = self._client.post(self.url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {self.name} ({self.url}): {exc}") from exc


class EmailChannel(Channel):
    """Sends a plain-text mail over SMTP (optionally STARTTLS and login)."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.host, self.port = host, port
        self.sender, self.recipients = sender, list(recipients)
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    def send(self, notification: Notification) -> None:
        message = EmailMessage()
        message["Subject"] = notification.title
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["X-Tripcast-Alert-Id"] = notification.alert_id
        message.set_content(notification.text())
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email {self.name} via {self.host}:{self.port}: {exc}") from exc


def build_channel(config: ChannelConfig) -> Channel:
    """A channel from its configuration."""
    options = config.options
    if config.type == "log":
        return LogChannel(config.name)
    if config.type == "webhook":
        return WebhookChannel(config.name, str(options["url"]), timeout=float(options.get("timeout", 5.0)))
    recipients = options["recipients"]
    return EmailChannel(
        config.name,
        str(options["host"]),
        int(options.get("port", 25)),
        str(options.get("sender", "tripcast-alerts@localhost")),
        [recipients] if isinstance(recipients, str) else list(recipients),
        starttls=bool(options.get("starttls", False)),
        username=options.get("username"),
        password=options.get("password"),
    )

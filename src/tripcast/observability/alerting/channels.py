"""Where notifications go: the log, a Slack-compatible webhook, e-mail over SMTP.

Webhook URLs carry their secret in the path (Slack's ``/services/T.../B.../token``): errors and logs
show them masked (``https://hooks.slack.com/services/T***``). Webhooks go through :mod:`tripcast.egress`
(no private, loopback or link-local target unless the settings allow it). The SMTP password never
lives in the alerting YAML: it comes from a secrets file (``password_file``) or an environment variable
(``password_env``, default ``TRIPCAST_SMTP_PASSWORD``).
"""

from __future__ import annotations

import logging
import os
import smtplib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError
from tripcast.egress import EgressPolicy, EgressRefusedError, guarded_client, mask_endpoint
from tripcast.observability.alerting.config import DEFAULT_SMTP_PASSWORD_ENV, ChannelConfig

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

    def __init__(
        self,
        name: str,
        url: str,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.name = name
        self.url = url
        if client is None:
            egress = egress if egress is not None else EgressPolicy.from_settings()
            egress.check_url(url)
            client = guarded_client(egress, timeout=timeout)
        self._client = client

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r}, url={mask_endpoint(self.url)!r})"

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
        except httpx.HTTPStatusError as exc:
            problem = f"HTTP {exc.response.status_code}"
        except (httpx.HTTPError, EgressRefusedError) as exc:
            problem = f"{type(exc).__name__}: {exc}".replace(self.url, mask_endpoint(self.url))
        else:
            return
        # ``from None``: the chained httpx error would print the unmasked URL with any traceback.
        raise DeliveryError(f"webhook {self.name} ({mask_endpoint(self.url)}): {problem}") from None


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


def build_channel(config: ChannelConfig, egress: EgressPolicy | None = None) -> Channel:
    """A channel from its configuration (``egress`` defaults to the one the settings describe)."""
    options = config.options
    if config.type == "log":
        return LogChannel(config.name)
    if config.type == "webhook":
        return WebhookChannel(
            config.name, str(options["url"]), timeout=float(options.get("timeout", 5.0)), egress=egress
        )
    recipients = options["recipients"]
    username = options.get("username")
    return EmailChannel(
        config.name,
        str(options["host"]),
        int(options.get("port", 25)),
        str(options.get("sender", "tripcast-alerts@localhost")),
        [recipients] if isinstance(recipients, str) else list(recipients),
        starttls=bool(options.get("starttls", False)),
        username=username,
        password=smtp_password(config) if username else None,
    )


def smtp_password(config: ChannelConfig) -> str:
    """The SMTP password of an email channel: the file ``password_file`` names, else ``$password_env``."""
    options = config.options
    if options.get("password_file"):
        path = os.path.expanduser(str(options["password_file"]))
        try:
            with open(path, encoding="utf-8") as secret:
                return secret.read().rstrip("\r\n")
        except OSError as exc:
            problem = f"cannot read the password file {path}: {exc.strerror}"
            raise InvalidInputError([FieldProblem(f"channels.{config.name}.password_file", problem)]) from None
    variable = str(options.get("password_env") or DEFAULT_SMTP_PASSWORD_ENV)
    password = os.environ.get(variable)
    if not password:
        problem = f"username is set but ${variable} is empty; set it, or password_file: to a secrets file"
        raise InvalidInputError([FieldProblem(f"channels.{config.name}.password_env", problem)])
    return password

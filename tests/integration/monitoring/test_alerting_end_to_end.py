"""Alerts over real traffic: a local HTTP server receives webhooks, aiosmtpd receives mail.

The clock is injected and moved forward; nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry, Gauge
from typer.testing import CliRunner

from tripcast.cli.app import app
from tripcast.core.ports.clock import Clock
from tripcast.observability.alerting import AlertManager, AlertStore, parse_config, samples_from_registry


class ManualClock(Clock):
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@pytest.fixture()
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback, which outbound requests may reach only because the settings say so."""
    monkeypatch.setenv("TRIPCAST_EGRESS_ALLOWED_HOSTS", "127.0.0.1")
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(404 if "/services/" in self.path else 200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/slack", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class MailSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp() -> Iterator[tuple[int, MailSink]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


def config_for(webhook_url: str, smtp_port: int) -> dict[str, Any]:
    return {
        "channels": {
            "log": {"type": "log"},
            "slack": {"type": "webhook", "url": webhook_url},
            "oncall": {
                "type": "email",
                "host": "127.0.0.1",
                "port": smtp_port,
                "sender": "alerts@tripcast.test",
                "recipients": ["oncall@tripcast.test"],
            },
        },
        "routes": {"warning": ["log", "slack"], "critical": ["log", "slack", "oncall"]},
        "escalation": {"after_minutes": 30},
        "repeat_interval_minutes": 240,
        "rules": [
            {
                "name": "TripcastFeatureDrift",
                "metric": "tripcast_drift_feature_drifted",
                "condition": ">=",
                "threshold": 1,
                "for": "10m",
                "severity": "warning",
                "labels": {"team": "ml"},
                "summary": "feature {feature} of model {model} drifted",
            }
        ],
    }


def test_alert_fires_once_escalates_by_mail_and_resolves(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]], smtp: tuple[int, MailSink]
) -> None:
    url, posts = webhook
    port, mail = smtp
    registry = CollectorRegistry()
    drifted = Gauge("tripcast_drift_feature_drifted", "", ["model", "feature"], registry=registry)
    drifted.labels(model="trip-duration", feature="trip_distance").set(1)
    drifted.labels(model="trip-duration", feature="pickup_hour").set(0)
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    manager = AlertManager(parse_config(config_for(url, port)), AlertStore(tmp_path / "alerts.db"), clock)

    assert manager.evaluate(samples_from_registry(registry)) == []  # pending: for 10m not reached
    clock.advance(minutes=11)
    fired = manager.evaluate(samples_from_registry(registry))
    assert [d.channel for d in fired] == ["log", "slack"]
    assert len(posts) == 1
    body = posts[0]["json"]
    assert posts[0]["path"] == "/hooks/slack"
    assert "feature trip_distance of model trip-duration drifted" in body["text"]
    assert body["tripcast"]["status"] == "firing" and body["tripcast"]["labels"]["feature"] == "trip_distance"
    alert_id = body["tripcast"]["alert_id"]

    for _ in range(3):  # deduplicated on re-evaluation
        clock.advance(minutes=5)
        assert manager.evaluate(samples_from_registry(registry)) == []
    assert len(posts) == 1 and mail.messages == []

    clock.advance(minutes=20)  # 35 min since it fired, unacknowledged: escalate to critical (mail)
    escalated = manager.evaluate(samples_from_registry(registry))
    assert {d.channel for d in escalated} == {"log", "slack", "oncall"}
    assert len(mail.messages) == 1
    recipients, message = mail.messages[0]
    assert recipients == ["oncall@tripcast.test"]
    assert message["Subject"] == "[ESCALATED][critical] TripcastFeatureDrift"
    assert message["X-Tripcast-Alert-Id"] == alert_id
    clock.advance(minutes=10)
    assert manager.evaluate(samples_from_registry(registry)) == []  # escalation is sent once

    drifted.labels(model="trip-duration", feature="trip_distance").set(0)
    resolved = manager.evaluate(samples_from_registry(registry))
    assert {d.notification.status for d in resolved} == {"resolved"}
    assert posts[-1]["json"]["tripcast"]["status"] == "resolved"
    assert manager.store.get(alert_id).status == "resolved"


def test_acknowledged_alert_does_not_escalate_cli_ack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
    smtp: tuple[int, MailSink],
) -> None:
    url, posts = webhook
    port, mail = smtp
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    db = tmp_path / "alerts.db"
    manager = AlertManager(parse_config(config_for(url, port)), AlertStore(db), clock)
    registry = CollectorRegistry()
    Gauge("tripcast_drift_feature_drifted", "", ["model", "feature"], registry=registry).labels(
        model="m", feature="f"
    ).set(1)
    manager.evaluate(samples_from_registry(registry))
    clock.advance(minutes=10)
    manager.evaluate(samples_from_registry(registry))
    assert len(posts) == 1
    alert_id = posts[0]["json"]["tripcast"]["alert_id"]

    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--state", str(db)])
    assert listed.exit_code == 0 and alert_id in listed.output and "firing" in listed.output
    acked = runner.invoke(app, ["alerts", "ack", alert_id, "--state", str(db), "--by", "alice"])
    assert acked.exit_code == 0, acked.output
    missing = runner.invoke(app, ["alerts", "ack", "nope1234", "--state", str(db)])
    assert missing.exit_code == 1 and "nope1234" in missing.output and "Traceback" not in missing.output

    clock.advance(hours=5)  # past escalation and repeat interval: acknowledged, so silence
    assert manager.evaluate(samples_from_registry(registry)) == []
    assert len(posts) == 1 and mail.messages == []
    assert manager.store.get(alert_id).acknowledged_by == "alice"


def test_webhook_to_loopback_is_refused_unless_allowed_and_errors_mask_the_token(
    tmp_path: Path,
    webhook: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tripcast.observability.alerting.channels import DeliveryError, Notification, WebhookChannel

    url, posts = webhook
    base = url.rsplit("/hooks/", 1)[0]
    secret_url = f"{base}/services/T0SECRET/B0SECRET/tokenSECRET"
    note = Notification("a1", "TripcastFeatureDrift", "warning", "firing", "drifted", 1.0)

    monkeypatch.delenv("TRIPCAST_EGRESS_ALLOWED_HOSTS")  # the default: no private, loopback or link-local target
    with pytest.raises(DeliveryError) as refused:
        WebhookChannel("slack", secret_url).send(note)
    assert "private, loopback or link-local" in str(refused.value) and posts == []

    monkeypatch.setenv("TRIPCAST_EGRESS_ALLOWED_HOSTS", "127.0.0.1")
    channel = WebhookChannel("slack", secret_url)
    with pytest.raises(DeliveryError) as failed:  # the receiver answers 404 under /services/
        channel.send(note)
    assert len(posts) == 1
    message = str(failed.value)
    assert "SECRET" not in message and "SECRET" not in repr(channel) and failed.value.__cause__ is None
    assert f"{base}/services/T***" in message and "HTTP 404" in message

    registry = CollectorRegistry()
    Gauge("tripcast_drift_feature_drifted", "", ["model", "feature"], registry=registry).labels(
        model="m", feature="f"
    ).set(1)
    config = config_for(secret_url, 1)
    config["rules"][0]["for"] = "0m"
    manager = AlertManager(parse_config(config), AlertStore(tmp_path / "alerts.db"), ManualClock(datetime.now(UTC)))
    with caplog.at_level("ERROR", logger="tripcast.alerts"):
        manager.evaluate(samples_from_registry(registry))
    assert "delivery failed" in caplog.text and "services/T***" in caplog.text
    assert "SECRET" not in caplog.text  # the log line an operator ships elsewhere carries no token

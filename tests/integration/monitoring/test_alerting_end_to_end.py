"""Alerts through a real Prometheus Alertmanager (Debian's package) with the configuration Tripcast generates:
a local HTTP server receives the Slack-compatible webhooks, aiosmtpd the on-call mail. Routing by severity,
grouping, inhibition, silences and acknowledgement are Alertmanager's; the CLI talks to its API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from tripcast.cli.app import app
from tripcast.observability.alerting import load_config, parse_config
from tripcast.observability.alerting.alertmanager_config import render_alertmanager_config
from tripcast.observability.alerting.prometheus_rules import render_prometheus_rules

ROOT = Path(__file__).resolve().parents[3]
ALERTING = ROOT / "observability" / "alerting"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROMETHEUS = shutil.which("prometheus")
AMTOOL = shutil.which("amtool")
needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER is None or AMTOOL is None, reason="apt-get install -y prometheus-alertmanager (CI installs it)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_checked_in_alertmanager_config_matches_the_alerting_config() -> None:
    generated = render_alertmanager_config(load_config(ALERTING / "alerting.yml"))
    assert (ALERTING / "alertmanager.yml").read_text() == generated, "run `tripcast alerts export-config`"


@needs_alertmanager
def test_amtool_accepts_the_checked_in_config() -> None:
    result = subprocess.run([AMTOOL or "", "check-config", str(ALERTING / "alertmanager.yml")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@needs_alertmanager
def test_promtool_accepts_the_shipped_prometheus_config() -> None:
    config = ROOT / "observability" / "prometheus" / "prometheus.yml"
    result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "2 rule files found" in result.stdout, result.stdout + result.stderr


@pytest.fixture()
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/slack", received
    finally:
        server.shutdown()
        server.server_close()


class MailSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp() -> Iterator[tuple[int, MailSink]]:
    port, sink = free_port(), MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


@pytest.fixture()
def alertmanager(tmp_path: Path, webhook: tuple[str, list[Any]], smtp: tuple[int, MailSink]) -> Iterator[str]:
    config = parse_config({
        "channels": {
            "slack": {"type": "webhook", "url": webhook[0]},
            "oncall": {"type": "email", "host": "127.0.0.1", "port": smtp[0], "sender": "alerts@tripcast.test",
                       "recipients": ["oncall@tripcast.test"]},
        },
        "routes": {"warning": ["slack"], "critical": ["slack", "oncall"]},
    })  # fmt: skip
    (tmp_path / "alertmanager.yml").write_text(render_alertmanager_config(config, group_wait="1s", group_interval="1s"))
    port = free_port()
    process = subprocess.Popen(
        [ALERTMANAGER or "", f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200, "Alertmanager ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def slack_text(payload: dict[str, Any]) -> str:
    """The text of a Slack-compatible webhook payload (Alertmanager sends one attachment)."""
    return " ".join(str(a.get("text", "")) for a in payload.get("attachments", []))


def slack_title(payload: dict[str, Any]) -> str:
    return " ".join(str(a.get("title", "")) for a in payload.get("attachments", []))


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, ["alerts", *args])
    assert result.exit_code == 0, result.output
    return result


@needs_alertmanager
def test_routing_inhibition_silence_and_ack_through_alertmanager(
    alertmanager: str, webhook: tuple[str, list[dict[str, Any]]], smtp: tuple[int, MailSink],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("TRIPCAST_ALERTMANAGER_URL", alertmanager)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    _, posts = webhook
    _, mail = smtp
    # a warning reaches Slack only; a critical alert reaches Slack and the on-call mailbox
    cli("raise", "TripcastFeatureDrift", "--summary", "feature trip_distance drifted", "--label", "model=m",
        "--label", "feature=trip_distance")  # fmt: skip
    wait_for(lambda: any("feature trip_distance drifted" in slack_text(p) for p in posts), "warning webhook")
    assert "[FIRING] TripcastFeatureDrift (warning)" in slack_title(posts[0])
    assert mail.messages == []
    cli("raise", "TripcastModelDecay", "--severity", "critical", "--summary", "live RMSE 1.5x", "--label", "model=m")
    wait_for(lambda: mail.messages, "critical mail")
    assert mail.messages[0][0] == ["oncall@tripcast.test"] and "TripcastModelDecay" in str(mail.messages[0][1])
    # dataset drift (critical) inhibits the per-feature drift warnings of the same model
    cli("raise", "TripcastDatasetDrift", "--severity", "critical", "--summary", "60 % drifted", "--label", "model=m")
    listed = wait_for(lambda: [a for a in json.loads(cli("list", "--json").stdout)["alerts"]
                               if a["name"] == "TripcastFeatureDrift" and a["inhibited_by"]], "inhibition")  # fmt: skip
    assert listed[0]["state"] == "suppressed"
    # silencing a rule and acknowledging one alert are silences in Alertmanager (and audited)
    cli("silence", "TripcastModelDecay", "--minutes", "30", "--reason", "deploying a fix")
    decay = wait_for(lambda: [a for a in json.loads(cli("list", "--json").stdout)["alerts"]
                              if a["name"] == "TripcastModelDecay" and a["silenced_by"]], "silence")  # fmt: skip
    assert decay[0]["state"] == "suppressed"
    dataset = next(a for a in json.loads(cli("list", "--json").stdout)["alerts"] if a["name"] == "TripcastDatasetDrift")
    assert "acknowledged TripcastDatasetDrift" in cli("ack", dataset["id"][:8], "--by", "oncall").stdout
    silences = httpx.get(f"{alertmanager}/api/v2/silences").json()
    assert {s["createdBy"] for s in silences} >= {"oncall"}
    acked = next(s for s in silences if s["createdBy"] == "oncall")
    assert {m["name"]: m["value"] for m in acked["matchers"]} == dataset["labels"]


def test_alertmanager_down_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIPCAST_ALERTMANAGER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["alerts", "list"])
    assert result.exit_code == 1 and "Alertmanager at http://127.0.0.1:" in result.output
    assert "unreachable" in result.output and "Traceback" not in result.output


def test_bad_input_names_the_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path))
    bad_label = CliRunner().invoke(app, ["alerts", "raise", "X", "--summary", "s", "--label", "novalue"])
    assert bad_label.exit_code == 1 and "--label" in bad_label.output
    bad_minutes = CliRunner().invoke(app, ["alerts", "silence", "X", "--minutes", "0"])
    assert bad_minutes.exit_code == 1 and "minutes" in bad_minutes.output


@needs_alertmanager
def test_a_prometheus_rule_fires_through_alertmanager_to_the_webhook(
    alertmanager: str, webhook: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The one source of firing logic: Prometheus evaluates the generated rule, Alertmanager routes it."""
    rule = {
        "name": "TripcastDatasetDrift",
        "metric": "tripcast_drift_dataset_share",
        "condition": ">=",
        "threshold": 0.5,
        "for": 0,
        "severity": "warning",
        "summary": "{value} of the features drifted",
    }
    (tmp_path / "rules.yml").write_text(render_prometheus_rules(parse_config({"rules": [rule]})))
    metrics_port = free_port()

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'tripcast_drift_dataset_share{model="trip-duration"} 0.75\n'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", metrics_port), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{tmp_path / 'rules.yml'}']\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{alertmanager.removeprefix('http://')}']}}]}}]}}\n"
        f"scrape_configs: [{{job_name: t, static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]}}]\n"
    )
    prometheus = subprocess.Popen(
        [PROMETHEUS or "", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{free_port()}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        posts = webhook[1]
        wait_for(lambda: any("0.75 of the features drifted" in slack_text(p) for p in posts), "rule -> webhook", 60)
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
        server.shutdown()

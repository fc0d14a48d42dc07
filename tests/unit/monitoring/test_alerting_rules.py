"""Alert configuration validation and the manager's lifecycle (for, dedup, repeat, escalation, silence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.ports.clock import Clock
from tripcast.observability.alerting import AlertManager, AlertStore, Sample, parse_config, samples_from_text
from tripcast.observability.alerting.channels import Channel, DeliveryError, Notification
from tripcast.observability.alerting.prometheus_rules import promql


class ManualClock(Clock):
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class Recorder(Channel):
    """Keeps what it was sent (stands for a remote channel; real channels are covered by integration tests)."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.sent = name, fail, []  # type: ignore[var-annotated]

    def send(self, notification: Notification) -> None:
        if self.fail:
            raise DeliveryError("down")
        self.sent.append(notification)


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "channels": {"a": {"type": "log"}, "b": {"type": "log"}},
        "routes": {"warning": ["a"], "critical": ["a", "b"]},
        "escalation": {"after_minutes": 30},
        "repeat_interval_minutes": 60,
        "rules": [
            {"name": "Slow", "metric": "latency", "condition": ">", "threshold": 2, "for": "5m", "severity": "warning",
             "summary": "latency {value} on {route}", "match": {"route": "/predict"}},
        ],
    }  # fmt: skip
    base.update(overrides)
    return base


def manager(tmp_path: Path, **overrides: Any) -> tuple[AlertManager, ManualClock, dict[str, Recorder]]:
    clock = ManualClock()
    channels = {"a": Recorder("a"), "b": Recorder("b")}
    return (
        AlertManager(parse_config(config(**overrides)), AlertStore(tmp_path / "s.db"), clock, channels),
        clock,
        channels,
    )


def test_config_errors_name_every_field() -> None:
    bad = config(
        channels={"w": {"type": "webhook"}, "x": {"type": "pager"}},
        routes={"urgent": ["w"], "warning": ["nope"]},
        rules=[{"name": "1bad", "metric": "m", "condition": "~", "threshold": "x", "for": "5 minutes"}],
    )
    with pytest.raises(InvalidInputError) as err:
        parse_config(bad)
    fields = {p.field for p in err.value.problems}
    assert {"channels.w.url", "channels.x.type", "routes.urgent", "routes.warning", "rules[0].name",
            "rules[0].condition", "rules[0].threshold", "rules[0].for"} <= fields  # fmt: skip


def test_pending_then_fires_once_then_repeats_after_interval(tmp_path: Path) -> None:
    mgr, clock, ch = manager(tmp_path, escalation={"after_minutes": None})
    slow = [Sample("latency", 3.0, {"route": "/predict"}), Sample("latency", 9.0, {"route": "/health"})]
    assert mgr.evaluate(slow) == []
    clock.advance(minutes=4)
    assert mgr.evaluate(slow) == []
    clock.advance(minutes=1)
    assert [d.channel for d in mgr.evaluate(slow)] == ["a"]
    assert ch["a"].sent[0].summary == "latency 3 on /predict"  # only the matched series
    for _ in range(7):
        clock.advance(minutes=10)
        mgr.evaluate(slow)
    assert len(ch["a"].sent) == 2  # one repeat after 60 minutes, not one per evaluation


def test_flapping_condition_resets_the_for_duration(tmp_path: Path) -> None:
    mgr, clock, ch = manager(tmp_path)
    for value in (3, 3, 1, 3, 3):
        mgr.evaluate([Sample("latency", value, {"route": "/predict"})])
        clock.advance(minutes=2)
    assert ch["a"].sent == []


def test_escalation_goes_to_next_severity_channels_once(tmp_path: Path) -> None:
    mgr, clock, ch = manager(tmp_path, repeat_interval_minutes=10_000)
    sample = [Sample("latency", 3.0, {"route": "/predict"})]
    mgr.evaluate(sample)
    clock.advance(minutes=5)
    mgr.evaluate(sample)
    clock.advance(minutes=31)
    escalated = mgr.evaluate(sample)
    assert {d.channel for d in escalated} == {"a", "b"}
    assert ch["b"].sent[0].status == "escalated" and ch["b"].sent[0].severity == "critical"
    clock.advance(minutes=31)
    assert mgr.evaluate(sample) == []


def test_silence_suppresses_and_notification_follows_when_it_ends(tmp_path: Path) -> None:
    mgr, clock, ch = manager(tmp_path)
    mgr.store.add_silence("Slow", clock.now(), clock.now() + timedelta(minutes=20), "deploy")
    sample = [Sample("latency", 3.0, {"route": "/predict"})]
    for _ in range(3):
        mgr.evaluate(sample)
        clock.advance(minutes=6)
    assert ch["a"].sent == [] and len(mgr.store.firing()) == 1
    clock.advance(minutes=5)
    assert [d.notification.status for d in mgr.evaluate(sample)] == ["firing"]


def test_failed_channel_does_not_block_others_and_ack_unknown_is_clear(tmp_path: Path) -> None:
    mgr, clock, ch = manager(tmp_path)
    mgr.channels["a"] = Recorder("a", fail=True)
    sample = [Sample("latency", 3.0, {"route": "/predict"})]
    mgr.evaluate(sample)
    clock.advance(minutes=5)
    assert mgr.evaluate(sample) == []  # nothing delivered: stays un-notified, retried next tick
    mgr.channels["a"] = ch["a"]
    assert [d.channel for d in mgr.evaluate(sample)] == ["a"]
    with pytest.raises(NotFoundError, match="zzz"):
        mgr.acknowledge("zzz", "me")


def test_samples_from_text_and_promql() -> None:
    text = '# TYPE latency gauge\nlatency{route="/predict"} 2.5\nlatency{route="/x"} 1\n'
    samples = samples_from_text(text)
    assert Sample("latency", 2.5, {"route": "/predict"}) in samples
    rule = parse_config(config()).rules[0]
    assert promql(rule) == 'latency{route="/predict"} > 2'


def test_smtp_password_in_the_yaml_is_refused_and_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.observability.alerting.channels import build_channel

    mail = {"type": "email", "host": "smtp.example.org", "recipients": ["a@x"], "username": "alerts"}
    with pytest.raises(InvalidInputError) as err:
        parse_config(config(channels={"m": {**mail, "password": "hunter2"}}, routes={"warning": ["m"]}))
    (problem,) = [p for p in err.value.problems if p.field == "channels.m.password"]
    assert "TRIPCAST_SMTP_PASSWORD" in problem.problem and "password_file" in problem.problem
    assert "hunter2" not in str(err.value)

    monkeypatch.delenv("TRIPCAST_SMTP_PASSWORD", raising=False)
    channel_config = parse_config(config(channels={"m": mail}, routes={"warning": ["m"]})).channels["m"]
    with pytest.raises(InvalidInputError, match=r"channels\.m\.password_env: username is set but \$TRIPCAST_SMTP"):
        build_channel(channel_config)
    monkeypatch.setenv("TRIPCAST_SMTP_PASSWORD", "from-env")
    assert build_channel(channel_config).password == "from-env"  # type: ignore[attr-defined]
    secret = tmp_path / "smtp-password"
    secret.write_text("from-file\n")
    filed = parse_config(config(channels={"m": {**mail, "password_file": str(secret)}}, routes={})).channels["m"]
    assert build_channel(filed).password == "from-file"  # type: ignore[attr-defined]

"""The alert manager: rules against metric samples, with for-durations, dedup, escalation, silences.

Called by a monitoring job at each evaluation tick with the current metric samples (from a
Prometheus registry or a scraped ``/metrics`` page). Time comes from an injected
:class:`~tripcast.core.ports.clock.Clock`, so tests move it forward instead of sleeping.

Per series matching a rule:

* condition holds for less than ``for``: pending, nothing sent;
* then: one alert is opened and its severity's channels are notified **once**;
  re-evaluations do not notify again (deduplication) until ``repeat_interval`` passes;
* not acknowledged ``escalation.after_minutes`` after it started: the channels of the
  next severity up are notified (once);
* acknowledged (``tripcast alerts ack <id>``): no more repeats or escalation;
* silenced (a suppression window on the rule): state is kept but nothing is sent;
* condition stops holding (or the series disappears): resolved, and a resolution is sent.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tripcast.core.ports.clock import Clock
from tripcast.observability.alerting.channels import Channel, DeliveryError, Notification, build_channel
from tripcast.observability.alerting.config import AlertingConfig, AlertRule, Severity
from tripcast.observability.alerting.state import AlertRecord, AlertStore

log = logging.getLogger("tripcast.alerts")


@dataclass(frozen=True, slots=True)
class Sample:
    """One metric series value."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def samples_from_registry(registry: CollectorRegistry) -> list[Sample]:
    """Every sample a Prometheus registry currently exposes."""
    return [Sample(s.name, float(s.value), dict(s.labels)) for metric in registry.collect() for s in metric.samples]


def samples_from_text(text: str) -> list[Sample]:
    """Samples parsed from a Prometheus text exposition (a scraped ``/metrics`` page)."""
    return [
        Sample(s.name, float(s.value), dict(s.labels))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def samples_from_mapping(values: Mapping[str, float]) -> list[Sample]:
    """Unlabelled samples from ``{metric: value}``."""
    return [Sample(name, float(value)) for name, value in values.items()]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification and the channel that received it."""

    channel: str
    notification: Notification


class AlertManager:
    """Evaluates rules and notifies channels; state lives in an :class:`AlertStore`."""

    def __init__(
        self,
        config: AlertingConfig,
        store: AlertStore,
        clock: Clock,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.channels: dict[str, Channel] = (
            dict(channels) if channels is not None else {n: build_channel(c) for n, c in config.channels.items()}
        )

    def evaluate(self, samples: Iterable[Sample]) -> list[Delivery]:
        """One evaluation tick; returns what was delivered."""
        now = self.clock.now()
        samples = list(samples)
        holding: set[str] = set()
        deliveries: list[Delivery] = []
        for rule in self.config.rules:
            for sample in samples:
                if sample.name != rule.metric or any(sample.labels.get(k) != v for k, v in rule.match.items()):
                    continue
                if math.isnan(sample.value) or not rule.holds(sample.value):
                    continue
                fingerprint = _fingerprint(rule, sample.labels)
                holding.add(fingerprint)
                since = self.store.pending_since(fingerprint, now)
                if (now - since).total_seconds() < rule.for_seconds:
                    continue
                deliveries.extend(self._firing(rule, sample, fingerprint))
        for fingerprint in self.store.pending_fingerprints() - holding:
            self.store.clear_pending(fingerprint)
        for alert in self.store.firing():
            if alert.fingerprint not in holding:
                deliveries.extend(self._resolve(alert))
        return deliveries

    def acknowledge(self, alert_id: str, by: str) -> AlertRecord:
        """Acknowledge an alert at the clock's time."""
        return self.store.acknowledge(alert_id, by, self.clock.now())

    # ------------------------------------------------------------------ internals
    def _firing(self, rule: AlertRule, sample: Sample, fingerprint: str) -> list[Delivery]:
        now = self.clock.now()
        labels = {**sample.labels, **rule.labels, "alertname": rule.name, "severity": rule.severity.label}
        summary = rule.render_summary(labels, sample.value)
        alert = self.store.active(fingerprint)
        if alert is None:
            alert = self.store.open_alert(
                fingerprint, rule.name, rule.severity.label, labels, summary, sample.value, now
            )
        else:
            self.store.update_value(alert.id, sample.value, summary)
        if alert.acknowledged or self.store.silenced(rule.name, now):
            return []
        if alert.last_notified_at is None:
            return self._notify(alert, "firing", rule.severity, sample.value, summary)
        escalate_after = self.config.escalate_after_seconds
        due = escalate_after is not None and (now - alert.started_at).total_seconds() >= escalate_after
        if due and alert.escalated_at is None:
            self.store.mark_escalated(alert.id, now)
            return self._notify(alert, "escalated", rule.severity.next_up(), sample.value, summary)
        if (now - alert.last_notified_at).total_seconds() >= self.config.repeat_interval_seconds:
            return self._notify(alert, "firing", rule.severity, sample.value, summary)
        return []  # deduplicated: already told, nothing new

    def _resolve(self, alert: AlertRecord) -> list[Delivery]:
        now = self.clock.now()
        self.store.resolve(alert.id, now)
        if alert.last_notified_at is None or self.store.silenced(alert.rule, now):
            return []
        return self._notify(alert, "resolved", Severity.parse(alert.severity, "severity"), alert.value, alert.summary)

    def _notify(self, alert: AlertRecord, status: str, route: Severity, value: float, summary: str) -> list[Delivery]:
        notification = Notification(
            alert_id=alert.id,
            rule=alert.rule,
            severity=alert.severity if status != "escalated" else route.label,
            status=status,
            summary=summary,
            value=value,
            labels=alert.labels,
            started_at=alert.started_at.isoformat(),
        )
        delivered: list[Delivery] = []
        for name in self.config.channels_for(route):
            channel = self.channels.get(name)
            if channel is None:
                continue
            try:
                channel.send(notification)
            except DeliveryError as exc:
                # One broken channel must not silence the others; the failure itself is logged loudly.
                log.error("alert %s: delivery failed: %s", alert.id, exc)
                continue
            delivered.append(Delivery(name, notification))
        if delivered and status != "resolved":
            self.store.mark_notified(alert.id, self.clock.now())
        return delivered


def _fingerprint(rule: AlertRule, labels: Mapping[str, str]) -> str:
    return f"{rule.name}:{json.dumps(dict(sorted(labels.items())), separators=(',', ':'))}"

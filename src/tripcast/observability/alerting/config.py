"""Alerting configuration: rules, channels, routes, escalation, as YAML.

Example (``observability/alerting/alerting.yml`` is the shipped one)::

    channels:
      log: {type: log}
      slack: {type: webhook, url: "https://hooks.slack.com/services/..."}
      oncall: {type: email, host: smtp.example.org, port: 587, sender: a@x, recipients: [b@x],
               username: alerts, password_env: TRIPCAST_SMTP_PASSWORD}  # or password_file: /run/secrets/smtp
    routes: {warning: [log, slack], critical: [log, slack, oncall]}
    escalation: {after_minutes: 30}
    repeat_interval_minutes: 240
    rules:
      - name: TripcastFeatureDrift
        metric: tripcast_drift_feature_drifted
        condition: ">="
        threshold: 1
        for: 10m
        severity: warning
        labels: {team: ml}
        summary: "feature {feature} of {model} drifted"
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import yaml

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

CONDITIONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
#: Where an email channel's SMTP password comes from unless ``password_env`` or ``password_file`` says otherwise.
DEFAULT_SMTP_PASSWORD_ENV = "TRIPCAST_SMTP_PASSWORD"


class Severity(IntEnum):
    """Ordered severities: escalation moves an alert to the next one up."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @classmethod
    def parse(cls, text: str, field_name: str) -> Severity:
        try:
            return cls[str(text).upper()]
        except KeyError:
            known = ", ".join(s.name.lower() for s in cls)
            raise InvalidInputError([FieldProblem(field_name, f"unknown severity {text!r} (known: {known})")]) from None

    @property
    def label(self) -> str:
        return self.name.lower()

    def next_up(self) -> Severity:
        return Severity(min(self.value + 1, Severity.CRITICAL.value))


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Fire when ``metric`` (series matching ``match``) satisfies ``condition threshold`` for ``for_seconds``."""

    name: str
    metric: str
    condition: str
    threshold: float
    severity: Severity
    for_seconds: int = 0
    match: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def holds(self, value: float) -> bool:
        return CONDITIONS[self.condition](value, self.threshold)

    def render_summary(self, series_labels: Mapping[str, str], value: float) -> str:
        """The summary with ``{label}`` and ``{value}`` filled in (unknown names left as they are)."""
        text = self.summary or f"{self.metric} {self.condition} {self.threshold:g}"
        values = {**series_labels, "value": f"{value:.4g}", "metric": self.metric}
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    type: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertingConfig:
    """Everything the alert manager needs besides metric values and a clock."""

    rules: list[AlertRule]
    channels: dict[str, ChannelConfig]
    routes: dict[Severity, list[str]]
    escalate_after_seconds: int | None = 1800
    repeat_interval_seconds: int = 4 * 3600

    def channels_for(self, severity: Severity) -> list[str]:
        return list(self.routes.get(severity, []))


def load_config(path: str | Path) -> AlertingConfig:
    """Read and validate an alerting YAML file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError([FieldProblem("config", f"{path}: alerting config file not found")])
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidInputError([FieldProblem("config", f"{path}: not valid YAML: {exc}")]) from None
    return parse_config(data or {})


def parse_config(data: Mapping[str, Any]) -> AlertingConfig:
    """Validate a config mapping (the pydantic models of :mod:`.schema`); every problem names its field."""
    from tripcast.observability.alerting.schema import AlertingFile, ChannelModel, RuleModel, Settings, validated

    # A key with nothing under it (``rules:``) or an empty mapping means "the default", as before.
    present = {key: value for key, value in data.items() if value not in (None, {}, [])}
    problems = [FieldProblem(str(k), "unknown setting") for k in present if k not in AlertingFile.model_fields]
    channels: dict[str, ChannelConfig] = {}
    for name, item in _section(present, "channels", {"log": {"type": "log"}}, problems).items():
        channel, found = validated(ChannelModel, item or {}, f"channels.{name}")
        problems.extend(found if channel is None else channel.problems(str(name)))
        # A channel with problems still counts as declared, so routes naming it are not reported twice.
        channels[str(name)] = ChannelConfig(str(name), channel.type, channel.options()) if channel else None  # type: ignore[assignment]
    rules: list[AlertRule] = []
    for i, item in enumerate(_section(present, "rules", [], problems)):
        rule, found = validated(RuleModel, item or {}, f"rules[{i}]")
        problems.extend(found)
        if rule is not None:
            if rule.name in {r.name for r in rules}:
                problems.append(FieldProblem(f"rules[{i}].name", f"duplicate rule name {rule.name!r}"))
            rules.append(_rule(rule))
    settings, found = validated(Settings, {k: present[k] for k in Settings.model_fields if k in present}, "")
    problems.extend(found)
    routes = _routes(settings.routes if settings else {}, channels, problems)
    if problems or settings is None:
        raise InvalidInputError(problems)
    after = settings.escalation.after_minutes
    return AlertingConfig(
        rules=rules,
        channels=channels,
        routes=routes or {s: list(channels) for s in Severity},
        escalate_after_seconds=None if after is None else int(after * 60),
        repeat_interval_seconds=int(settings.repeat_interval_minutes * 60),
    )


def _section(present: Mapping[str, Any], key: str, default: Any, problems: list[FieldProblem]) -> Any:
    value = present.get(key, default)
    if not isinstance(value, type(default)):
        problems.append(FieldProblem(key, f"must be a {'list' if isinstance(default, list) else 'mapping'}"))
        return default
    return value


def _routes(
    declared: Mapping[str, list[str]], channels: Mapping[str, Any], problems: list[FieldProblem]
) -> dict[Severity, list[str]]:
    routes: dict[Severity, list[str]] = {}
    for severity_name, names in declared.items():
        try:
            severity = Severity.parse(severity_name, f"routes.{severity_name}")
        except InvalidInputError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(
            FieldProblem(f"routes.{severity_name}", f"unknown channel {n!r}") for n in names if n not in channels
        )
        routes[severity] = list(names)
    return routes


def _rule(item: Any) -> AlertRule:
    return AlertRule(
        name=item.name,
        metric=item.metric,
        condition=item.condition,
        threshold=item.threshold,
        severity=Severity[item.severity.upper()],
        for_seconds=item.for_seconds,
        match=dict(item.match),
        labels=dict(item.labels),
        summary=item.summary,
    )

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
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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


def parse_duration(value: Any, field_name: str) -> int:
    """``90``, ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` -> seconds."""
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise InvalidInputError([FieldProblem(field_name, f"{value!r} is not a duration like 30s, 10m, 2h, 1d")])
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


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
    """Validate a config mapping; every problem names its field."""
    problems: list[FieldProblem] = []
    channels: dict[str, ChannelConfig] = {}
    for name, item in (data.get("channels") or {"log": {"type": "log"}}).items():
        kind = (item or {}).get("type")
        if kind not in {"log", "webhook", "email"}:
            problems.append(FieldProblem(f"channels.{name}.type", f"{kind!r} is not log, webhook or email"))
            continue
        options = {k: v for k, v in item.items() if k != "type"}
        if kind == "webhook" and not options.get("url"):
            problems.append(FieldProblem(f"channels.{name}.url", "a webhook channel needs a url"))
        if kind == "email" and (not options.get("host") or not options.get("recipients")):
            problems.append(FieldProblem(f"channels.{name}", "an email channel needs host and recipients"))
        if kind == "email" and "password" in options:
            problems.append(
                FieldProblem(
                    f"channels.{name}.password",
                    f"a password does not belong in the alerting YAML (it is shared and logged): remove it and "
                    f"set ${DEFAULT_SMTP_PASSWORD_ENV} (or password_env: OTHER_VARIABLE), or password_file: "
                    "/run/secrets/smtp-password",
                )
            )
        channels[name] = ChannelConfig(name, kind, options)
    routes: dict[Severity, list[str]] = {}
    for severity_name, names in (data.get("routes") or {}).items():
        try:
            severity = Severity.parse(severity_name, f"routes.{severity_name}")
        except InvalidInputError as exc:
            problems.extend(exc.problems)
            continue
        names = list(names or [])
        problems.extend(
            FieldProblem(f"routes.{severity_name}", f"unknown channel {n!r}") for n in names if n not in channels
        )
        routes[severity] = names
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("rules") or []):
        where = f"rules[{i}]"
        try:
            rule = _parse_rule(item or {}, where)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
            continue
        if rule.name in seen:
            problems.append(FieldProblem(f"{where}.name", f"duplicate rule name {rule.name!r}"))
        seen.add(rule.name)
        rules.append(rule)
    escalation = data.get("escalation") or {}
    escalate_after = escalation.get("after_minutes", 30)
    try:
        repeat = parse_duration(f"{data.get('repeat_interval_minutes', 240)}m", "repeat_interval_minutes")
    except InvalidInputError as exc:
        problems.extend(exc.problems)
        repeat = 0
    if problems:
        raise InvalidInputError(problems)
    return AlertingConfig(
        rules=rules,
        channels=channels,
        routes=routes or {s: list(channels) for s in Severity},
        escalate_after_seconds=None if escalate_after is None else int(float(escalate_after) * 60),
        repeat_interval_seconds=repeat,
    )


def _parse_rule(item: Mapping[str, Any], where: str) -> AlertRule:
    problems = []
    name, metric = str(item.get("name", "")), str(item.get("metric", ""))
    if not _NAME.match(name):
        problems.append(FieldProblem(f"{where}.name", f"{name!r} must be a letter/underscore identifier"))
    if not _NAME.match(metric):
        problems.append(FieldProblem(f"{where}.metric", f"{metric!r} is not a metric name"))
    condition = str(item.get("condition", ""))
    if condition not in CONDITIONS:
        problems.append(FieldProblem(f"{where}.condition", f"{condition!r} is not one of {' '.join(CONDITIONS)}"))
    try:
        threshold = float(item["threshold"])
    except (KeyError, TypeError, ValueError):
        problems.append(FieldProblem(f"{where}.threshold", "a number is required"))
        threshold = 0.0
    severity = Severity.WARNING
    for_seconds = 0
    try:
        severity = Severity.parse(item.get("severity", "warning"), f"{where}.severity")
        for_seconds = parse_duration(item.get("for", 0), f"{where}.for")
    except InvalidInputError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidInputError(problems)
    return AlertRule(
        name=name,
        metric=metric,
        condition=condition,
        threshold=threshold,
        severity=severity,
        for_seconds=for_seconds,
        match={str(k): str(v) for k, v in (item.get("match") or {}).items()},
        labels={str(k): str(v) for k, v in (item.get("labels") or {}).items()},
        summary=str(item.get("summary", "")),
    )

"""The alerting YAML is validated by pydantic models; errors name the field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.core.domain.errors import InvalidInputError
from tripcast.observability.alerting import Severity, load_config, parse_config

REPO = Path(__file__).resolve().parents[3]
RULE = {"name": "Slow", "metric": "latency", "condition": ">", "threshold": 2, "for": "5m", "severity": "Critical"}


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as err:
        parse_config(data)
    return {p.field: p.problem for p in err.value.problems}


def test_the_shipped_config_loads() -> None:
    config = load_config(REPO / "observability" / "alerting" / "alerting.yml")
    assert {r.name for r in config.rules} >= {"TripcastFeatureDrift", "TripcastModelDecay"}
    assert config.channels["slack"].options["url"].startswith("http")
    assert config.escalate_after_seconds == 1800 and config.repeat_interval_seconds == 240 * 60


def test_rule_values_are_converted() -> None:
    config = parse_config({"rules": [{**RULE, "labels": {"team": 7}}], "escalation": {"after_minutes": None}})
    (rule,) = config.rules
    assert rule.for_seconds == 300 and rule.severity is Severity.CRITICAL and rule.labels == {"team": "7"}
    assert config.escalate_after_seconds is None and set(config.routes) == set(Severity)


def test_unknown_keys_and_bad_values_are_named() -> None:
    found = problems(
        {
            "chanels": {"log": {"type": "log"}},
            "channels": {
                "w": {"type": "webhook", "url": "http://x", "timout": 3},
                "m": {"type": "email", "port": 0},
                "e": {"type": "email"},
            },
            "rules": [{**RULE, "threshold": "high"}, {**RULE, "extra": 1}],
            "repeat_interval_minutes": -5,
        }
    )
    assert found["chanels"] == "unknown setting"
    assert "Extra inputs" in found["channels.w.timout"] and "rules[1].extra" in found
    assert "valid number" in found["rules[0].threshold"]
    assert "greater than or equal to 1" in found["channels.m.port"]
    assert found["channels.e"] == "an email channel needs host and recipients"
    assert "greater than or equal to 0" in found["repeat_interval_minutes"]


def test_a_section_of_the_wrong_shape_is_named() -> None:
    assert problems({"rules": {"name": "x"}}) == {"rules": "must be a list"}

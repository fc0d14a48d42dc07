"""The Prometheus rules are generated from alerting.yml, up to date, and pass promtool's checks and unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tripcast.observability.alerting import load_config
from tripcast.observability.alerting.prometheus_rules import render_prometheus_rules

ROOT = Path(__file__).resolve().parents[3]
ALERTING = ROOT / "observability" / "alerting"
#: promtool unit tests of the rules: tests live under tests/, the rules they test under observability/.
PROMTOOL_TESTS = Path(__file__).resolve().parent / "promtool"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus); CI installs it"
)


def test_checked_in_rules_match_the_alerting_config() -> None:
    generated = render_prometheus_rules(load_config(ALERTING / "alerting.yml"))
    assert (ALERTING / "rules" / "tripcast.rules.yml").read_text() == generated, (
        "rules out of date: run `tripcast alerts export-rules`"
    )


@needs_promtool
def test_promtool_check_rules() -> None:
    files = sorted(str(p) for p in (ALERTING / "rules").glob("*.yml"))
    assert files
    result = subprocess.run([PROMTOOL, "check", "rules", *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@needs_promtool
def test_promtool_unit_tests() -> None:
    files = sorted(str(p) for p in PROMTOOL_TESTS.glob("*.yml"))
    assert files
    result = subprocess.run([PROMTOOL, "test", "rules", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_unit_tests_point_at_the_checked_in_rules() -> None:
    """promtool reads ``rule_files`` relative to the test file: they must name the rules under observability/."""
    import yaml

    for test_file in PROMTOOL_TESTS.glob("*.yml"):
        rule_files = yaml.safe_load(test_file.read_text())["rule_files"]
        resolved = [(test_file.parent / name).resolve() for name in rule_files]
        checked_in = {
            (ALERTING / "rules" / "tripcast.rules.yml").resolve(),
            (ROOT / "observability" / "sli_slo" / "rules" / "tripcast-slo.rules.yml").resolve(),
        }
        assert resolved and all(path in checked_in for path in resolved), test_file

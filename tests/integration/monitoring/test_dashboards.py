"""Grafana dashboards as code: checked-in JSON is the builders' output, every query parses as PromQL (promtool),
and every series a panel reads is one Tripcast exports or its generated SLO rules record."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tripcast.cli.app import app
from tripcast.observability.dashboards.build import panel_queries, render_dashboards

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "observability" / "dashboards" / "grafana"
SLO_RULES = ROOT / "observability" / "sli_slo" / "rules" / "tripcast-slo.rules.yml"
PROMTOOL = shutil.which("promtool")
SERIES = re.compile(r"\b(tripcast_[a-z0-9_]+|slo:[a-z0-9_:]+)\b")
SUFFIXES = ("_bucket", "_count", "_sum")


def exported_names() -> set[str]:
    """Metric names Tripcast's code registers (string literals) and series the SLO rules record."""
    literals = {
        name
        for path in (ROOT / "src" / "tripcast").rglob("*.py")
        for name in re.findall(r'"(tripcast_[a-z0-9_]+)"', path.read_text())
    }
    recorded = {rule["record"] for group in yaml.safe_load(SLO_RULES.read_text())["groups"] for rule in group["rules"]
                if "record" in rule}  # fmt: skip
    return literals | {f"{name}_total" for name in literals} | recorded


def test_checked_in_dashboards_are_the_builders_output() -> None:
    rendered = render_dashboards()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"{name} out of date: run `tripcast dashboards export`"


def test_every_panel_reads_a_series_tripcast_exports_or_records() -> None:
    known = exported_names()
    for name, text in render_dashboards().items():
        dashboard = json.loads(text)
        titles = [panel["title"] for panel in dashboard["panels"]]
        assert len(titles) == len(set(titles)), name
        for expr in panel_queries(text):
            for series in SERIES.findall(expr):
                base = next((series[: -len(s)] for s in SUFFIXES if series.endswith(s)), series)
                assert series in known or base in known, f"{name}: {series} is not exported by Tripcast ({expr})"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus)")
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    queries = [
        q.replace("$__rate_interval", "5m") for text in render_dashboards().values() for q in panel_queries(text)
    ]
    assert len(queries) >= 20
    rules = {
        "groups": [{"name": "dashboards", "rules": [{"record": f"q:{i}", "expr": q} for i, q in enumerate(queries)]}]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    result = subprocess.run([PROMTOOL or "", "check", "rules", str(tmp_path / "queries.yml")], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_as_a_user_runs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["dashboards", "export", "--out", "dashboards"])
    assert result.exit_code == 0, result.output
    for name in ("serving.json", "model.json", "data.json", "slo.json", "experiments.json"):
        assert (tmp_path / "dashboards" / name).read_text() == (DASHBOARDS / name).read_text()

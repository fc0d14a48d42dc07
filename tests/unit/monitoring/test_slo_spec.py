"""The SLO spec (sloth's prometheus/v1 format): bad fields are named; the generator's rules follow the SRE recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tripcast.core.domain.errors import InvalidInputError
from tripcast.observability.slo.rules import render_slo_rules
from tripcast.observability.slo.spec import SpecSloCatalog, load_slo_spec

SHIPPED = Path(__file__).resolve().parents[3] / "observability" / "sli_slo" / "slos.yaml"
GOOD = {
    "version": "prometheus/v1",
    "service": "svc",
    "slos": [
        {
            "name": "availability",
            "objective": 99.5,
            "sli": {"events": {"error_query": "sum(rate(e[{{.window}}]))", "total_query": "sum(rate(t[{{.window}}]))"}},
            "alerting": {"name": "SvcAvailability", "ticket_alert": {"disable": True}},
        }
    ],
}


def write(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_valid_spec_gives_objectives_as_ratios(tmp_path: Path) -> None:
    [objective] = SpecSloCatalog(write(tmp_path, GOOD)).objectives()
    assert (objective.service, objective.name, objective.period_days) == ("svc", "availability", 30)
    assert objective.objective == pytest.approx(0.995) and objective.error_budget == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda s: s["slos"][0].update(objective=120), "slos.0.objective", "less than 100"),
        (lambda s: s["slos"][0].update(windows=["5m"]), "slos.0.windows", "Extra inputs are not permitted"),
        (lambda s: s["slos"][0]["sli"]["events"].update(error_query="sum(e)"), "slos.0.sli", "{{.window}}"),
        (lambda s: s["slos"][0]["sli"].update(raw={"error_ratio_query": "x[{{.window}}]"}), "slos.0.sli", "one of"),
        (lambda s: s.update(version="v2"), "version", "prometheus/v1"),
        (
            lambda s: s["slos"][0]["sli"]["events"].update(error_query="sum(rate(e[{{.window}}])"),
            "slos.0.sli",
            "does not parse as PromQL (unclosed '(')",
        ),
        (
            lambda s: s["slos"][0]["sli"]["events"].update(total_query='sum(rate(t{code="5xx}[{{.window}}]))'),
            "slos.0.sli",
            'unclosed "',
        ),
        (
            lambda s: s["slos"][0]["sli"]["events"].update(total_query="sum(rate(t[{{.window}}])))"),
            "slos.0.sli",
            "unexpected ')'",
        ),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, change, field: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    spec = yaml.safe_load(yaml.safe_dump(GOOD))
    change(spec)
    with pytest.raises(InvalidInputError) as refused:
        load_slo_spec(write(tmp_path, spec))
    assert field in str(refused.value) and problem in str(refused.value)


def test_a_file_that_is_not_yaml_or_not_there_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "slos.yaml"
    broken.write_text("version: prometheus/v1\nslos: [\n  - name: x\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_slo_spec(broken)
    with pytest.raises(InvalidInputError, match="cannot read the SLO spec"):
        load_slo_spec(tmp_path / "missing.yaml")


def test_the_shipped_spec_parses() -> None:
    assert load_slo_spec(SHIPPED).slos


def test_rules_record_every_window_and_alert_with_the_sre_burn_rates(tmp_path: Path) -> None:
    rules = yaml.safe_load(render_slo_rules(load_slo_spec(write(tmp_path, GOOD))))
    recordings, meta, alerts = (group["rules"] for group in rules["groups"])
    assert [r["record"] for r in recordings] == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
    ]
    assert recordings[0]["expr"] == "(sum(rate(e[5m])))\n/\n(sum(rate(t[5m])))"
    assert {r["record"]: r["expr"] for r in meta}["slo:error_budget:ratio"] == "vector(0.005)"
    [page] = alerts  # the ticket alert is disabled
    assert page["labels"]["sloth_severity"] == "page"
    assert "ratio_rate5m" in page["expr"] and "ratio_rate1h" in page["expr"] and "(14.4 * 0.005)" in page["expr"]
    assert "ratio_rate30m" in page["expr"] and "ratio_rate6h" in page["expr"] and "(6 * 0.005)" in page["expr"]

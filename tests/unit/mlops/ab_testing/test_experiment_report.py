"""The analysis as a self-contained HTML report and as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from experiment_data import definition, observations

from tripcast.core.domain.experiment import AnalysisResult, GuardrailResult
from tripcast.mlops.ab_testing.analysis import StatsEngine, render_html, result_to_dict, write_report


def _result() -> AnalysisResult:
    table = observations({"control": 3000, "treatment": 3000}, {"treatment": -1.0}, rho=0.5)
    guardrails = (GuardrailResult("p99_latency_ms", "treatment", 61.0, 50.0, ok=False),)
    return StatsEngine().analyze(definition(covariate="covariate"), table, guardrails)


def test_json_has_the_contract_fields_and_round_trips() -> None:
    document = json.loads(json.dumps(result_to_dict(_result())))
    for key in ("verdict", "effect", "ci_low", "ci_high", "srm_p", "n_per_arm"):
        assert key in document
    assert document["verdict"] == "keep champion"
    assert document["n_per_arm"] == {"control": 3000, "treatment": 3000}
    assert document["guardrails"][0]["ok"] is False
    assert 0.15 < document["variance_reduction"] < 0.35  # rho 0.5 -> about 0.25
    assert len(document["looks"]) >= 20


def test_html_is_self_contained_with_every_section(tmp_path: Path) -> None:
    result = _result()
    path = write_report(result, tmp_path / "nested" / "report.html")
    page = path.read_text()
    assert page.startswith(render_html(result)[:200])
    assert "KEEP CHAMPION" in page and "guardrail failed" in page
    for heading in ("Effect over time", "Arm means", "Sample ratio", "Guardrails"):
        assert heading in page
    assert page.count("<svg") == 3 and "<polygon" in page  # the interval band over time
    assert "FAILED" in page
    # nothing to fetch: the only URL is the SVG namespace
    assert set(re.findall(r"https?://[^'\" ]+", page)) == {"http://www.w3.org/2000/svg"}

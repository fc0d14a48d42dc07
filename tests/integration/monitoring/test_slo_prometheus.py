"""SLOs end to end on a real Prometheus (Debian's package): the generated rules load, record and fire, and
`tripcast slo report` reads budgets, burn rates and firing alerts back; the checked-in rules are up to date."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from typer.testing import CliRunner

from support.serve_process import free_port
from tripcast.cli.app import app
from tripcast.observability.slo.rules import render_slo_rules
from tripcast.observability.slo.spec import load_slo_spec

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "observability" / "sli_slo" / "slos.yaml"
RULES = ROOT / "observability" / "sli_slo" / "rules" / "tripcast-slo.rules.yml"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None, reason="prometheus not installed (apt-get install -y prometheus)"
)


def test_checked_in_slo_rules_match_the_spec() -> None:
    assert RULES.read_text() == render_slo_rules(load_slo_spec(SPEC)), "run `tripcast slo export-rules`"


@needs_prometheus
def test_promtool_accepts_the_slo_rules() -> None:
    result = subprocess.run([PROMTOOL or "", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "SUCCESS" in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture()
def failing_service() -> Iterator[int]:
    """A /metrics endpoint whose prediction route answers 20 % of requests with 503 and takes 200 ms on a third."""
    registry = CollectorRegistry()
    requests = Counter("tripcast_http_requests", "", ["method", "route", "status"], registry=registry)
    latency = Histogram(
        "tripcast_http_request_duration_seconds",
        "",
        ["method", "route", "status"],
        buckets=(0.1, 1.0),
        registry=registry,
    )
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.wait(0.02):
            n += 1
            status = "503" if n % 5 == 0 else "200"
            requests.labels("POST", "/v1/predictions", status).inc()
            latency.labels("POST", "/v1/predictions", status).observe(0.2 if n % 3 == 0 else 0.01)

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    yield port
    stop.set()
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture()
def prometheus(tmp_path: Path, failing_service: int) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{RULES}']\n"
        f"scrape_configs: [{{job_name: tripcast, static_configs: [{{targets: ['127.0.0.1:{failing_service}']}}]}}]\n"
    )
    process = subprocess.Popen(
        [PROMETHEUS or "", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def report(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, object]]:
    monkeypatch.setenv("TRIPCAST_PROMETHEUS_URL", url)
    result = CliRunner().invoke(app, ["slo", "report", "--json"])
    assert result.exit_code == 0, result.output
    return {o["name"]: o for o in json.loads(result.stdout)["objectives"]}


@needs_prometheus
def test_report_reads_burn_rates_and_firing_alerts_from_prometheus(
    prometheus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the spec's default path is relative to the repository, as a user runs it
    deadline = time.monotonic() + 60
    while True:
        objectives = report(prometheus, monkeypatch)
        availability = objectives["predictions-availability"]
        if (
            "page" in availability["firing"] and objectives["predictions-latency"]["firing"]
        ) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert availability["firing"] == ["page", "ticket"], availability
    assert availability["state"] == "page"
    assert availability["burn_rates"]["5m"] == pytest.approx(200, rel=0.25)  # 20 % errors / 0.1 % budget
    assert availability["budget_remaining"] < 0  # overspent
    latency = objectives["predictions-latency"]
    assert latency["burn_rates"]["5m"] == pytest.approx(33.3, rel=0.25)  # a third slow / 1 % budget
    assert latency["state"] == "page"
    freshness = objectives["features-freshness"]
    assert freshness["state"] == "no data" and freshness["firing"] == []  # no feature store in this service
    assert httpx.get(f"{prometheus}/api/v1/rules").json()["status"] == "success"


def test_report_with_prometheus_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TRIPCAST_PROMETHEUS_URL", f"http://user:hunter2@127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["slo", "report"])
    assert result.exit_code == 1
    assert "is unreachable" in result.output and "hunter2" not in result.output and "Traceback" not in result.output


def test_export_rules_and_validate_as_a_user_runs_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    written = tmp_path / "rules.yml"
    result = CliRunner().invoke(app, ["slo", "export-rules", "--output", str(written)])
    assert result.exit_code == 0, result.output
    assert written.read_text() == RULES.read_text()
    bad = tmp_path / "slos.yaml"
    bad.write_text(SPEC.read_text().replace("objective: 99.9", "objective: 199.9"))
    refused = CliRunner().invoke(app, ["slo", "validate", "--spec", str(bad)])
    assert refused.exit_code == 1 and "slos.0.objective" in refused.output and "Traceback" not in refused.output

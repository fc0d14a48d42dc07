"""The real monitoring stack (issue #15 items 6 and 7): Debian's Prometheus, Pushgateway and Alertmanager run
from the repository's own configs, with ``tripcast serve`` under load and ``tripcast pipeline run``.

The configs are the checked-in files with their addresses substituted for this test's free ports (and the
intervals shortened so the test takes seconds): observability/prometheus/prometheus.yml and
observability/alerting/alertmanager.yml. Two API servers are scraped: one serving a real champion, one whose
registry is empty (every prediction answers 503: the forced SLO breach). Asserted: the scrape succeeds, the
SLO recording rules produce series, the breach fires the page alert and Alertmanager delivers it to a local
Slack-compatible webhook, and every dashboard panel's PromQL returns data where this stack has that data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.serve_process import free_port, stop_process, wait_until_serving
from tripcast.observability.dashboards.build import panel_queries

ROOT = Path(__file__).resolve().parents[3]
OBSERVABILITY = ROOT / "observability"
DASHBOARDS = OBSERVABILITY / "dashboards" / "grafana"
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PUSHGATEWAY = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        None in (PROMETHEUS, ALERTMANAGER, PUSHGATEWAY),
        reason="apt-get install -y prometheus prometheus-alertmanager prometheus-pushgateway (CI does)",
    ),
]
MODEL_NAME = "trip-duration"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}

#: The SLO dashboard's firing-alerts panel: empty until an SLO alert fires (the breach test fires one).
FIRING_PANEL = 'count by (sloth_slo, sloth_severity) (ALERTS{alertstate="firing", sloth_slo!=""})'
#: Panels without data in this stack, and why (each must really be empty here, or the list is stale).
NO_DATA_HERE: dict[str, str] = {
    "sum by (reason) (rate(tripcast_http_requests_rejected_total[1m]))": "no request is shed at this load",
    'sum(increase(tripcast_model_reloads_total{outcome="failure"}[1h]))': "no reload fails",
    "max(tripcast_feature_store_staleness_seconds)": "the feature store is off",
    'max by (version) (tripcast_live_rmse{segment="all"})': "live error needs ground truth (tripcast feedback)",
    'max by (segment) (tripcast_live_rmse{segment!="all"})': "live error needs ground truth (tripcast feedback)",
    "max by (version) (tripcast_concept_drift)": "concept drift needs ground truth (tripcast feedback)",
    "max by (model) (tripcast_model_rmse_ratio)": "decay needs ground truth (tripcast drift decay)",
    "max by (feature) (tripcast_drift_feature_score)": "drift scores come from a drift check's push",
    "max by (model) (tripcast_drift_dataset_share)": "drift scores come from a drift check's push",
    "max by (model) (tripcast_drift_prediction_score)": "drift scores come from a drift check's push",
    "count by (month) (tripcast_data_check_status == 2)": "no data check failed (status 2) on January",
    FIRING_PANEL: "no SLO alert fires before the breach test (tests run in any order)",
    "sum by (experiment, reason) (rate(tripcast_experiment_fallbacks_total[1m]))": (
        "no request falls back: the experiment's arms load before the good server answers"
    ),
}
#: The A/B test the good server runs from its start (champion v1 against v2): the experiments dashboard's data.
EXPERIMENT = "stack-ab"


@dataclass
class Webhook:
    """A Slack-compatible incoming webhook: every POSTed JSON body, by path."""

    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    bodies: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            bodies.append((self.path, json.loads(raw or b"{}")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Webhook(f"127.0.0.1:{server.server_address[1]}", bodies)
    server.shutdown()
    server.server_close()


def _substituted(source: Path, replacements: dict[str, str]) -> str:
    text = source.read_text()
    for old, new in replacements.items():
        assert old in text, f"{old!r} no longer in {source}: update the test's substitutions"
        text = text.replace(old, new)
    return text


def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {seconds:g} s")


@dataclass
class Stack:
    prometheus: str
    alertmanager: str
    pushgateway: str
    good: str
    broken: str
    webhook: Webhook
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return list(answer["data"]["result"])


def _start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)


def _train_champion(shared_data_dir: Path, root: Path) -> str:
    """A small real LightGBM champion (January's valid trips) in a SQLite registry; its tracking URI."""
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    path = shared_data_dir / "green_tripdata_2021-01.parquet"
    valid = PanderaTripValidator().split(RawDataset(read_tlc_file(path, "green"), Month(2021, 1), str(path))).valid
    features = TripFeatureBuilder()
    train = features.training_set(valid, "2021-01")
    model = LightGBMTrainer(features.spec, num_boost_round=20).fit(train, train)
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    with MlflowTracker(tracking_uri, "monitoring-stack", (root / "artifacts").as_uri()).start_run("champion") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(tracking_uri, features)
    registry.set_alias(MODEL_NAME, "champion", registry.register(uri, MODEL_NAME).version)
    registry.register(uri, MODEL_NAME)  # version 2: the experiment's treatment arm
    return tracking_uri


def _running_experiment(data_dir: Path) -> None:
    """An A/B test (control = champion, treatment = v2) already running in the good server's experiments database,
    so the server loads both arms at start and splits every prediction of the load."""
    from datetime import UTC, datetime

    from tripcast.core.domain.experiment import Arm, Experiment, ExperimentDefinition, ExperimentState
    from tripcast.mlops.ab_testing.sql_store import SqlExperimentStore, sql_engine

    data_dir.mkdir(parents=True, exist_ok=True)
    definition = ExperimentDefinition(
        EXPERIMENT, MODEL_NAME, (Arm("control", "champion", 0.5), Arm("treatment", "2", 0.5))
    )
    now = datetime.now(UTC)
    engine = sql_engine(f"sqlite:///{data_dir / 'experiments.db'}")
    SqlExperimentStore(engine).save(Experiment(definition, ExperimentState.RUNNING, now, started_at=now))
    engine.dispose()


def _serve(env: dict[str, str], port: int, log: Path, ready: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from tripcast.cli.serving import app; app()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = _start(command, log, env)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, port, lambda: httpx.get(f"{base}{ready}", timeout=2).status_code == 200, log=log)
    return process


def _start_exporters(tmp: Path, webhook: Webhook, stack: dict[str, Any]) -> list[subprocess.Popen[bytes]]:
    """Pushgateway and Alertmanager from the repository's config, on free ports."""
    push, alert = free_port(), free_port()
    config = tmp / "alertmanager.yml"
    config.write_text(
        _substituted(
            OBSERVABILITY / "alerting" / "alertmanager.yml",
            {
                "127.0.0.1:8089": webhook.url,
                "127.0.0.1:25": f"127.0.0.1:{free_port()}",
                "group_wait: 30s": "group_wait: 1s",
            },
        )
    )
    processes = [
        _start([PUSHGATEWAY or "", f"--web.listen-address=127.0.0.1:{push}", "--persistence.file="], tmp / "push.log"),
        _start([ALERTMANAGER or "", f"--config.file={config}", f"--storage.path={tmp / 'am'}",
                f"--web.listen-address=127.0.0.1:{alert}", "--cluster.listen-address="], tmp / "am.log"),
    ]  # fmt: skip
    stack.update(pushgateway=f"http://127.0.0.1:{push}", alertmanager=f"http://127.0.0.1:{alert}")
    return processes


def _start_prometheus(tmp: Path, api_ports: tuple[int, int], stack: dict[str, Any]) -> subprocess.Popen[bytes]:
    port = free_port()
    targets = ", ".join(f'"127.0.0.1:{p}"' for p in api_ports)
    config = tmp / "prometheus.yml"
    config.write_text(
        _substituted(
            OBSERVABILITY / "prometheus" / "prometheus.yml",
            {
                "scrape_interval: 15s": "scrape_interval: 1s",
                "evaluation_interval: 30s": "evaluation_interval: 1s",
                "- ../": f"- {OBSERVABILITY}/",
                '["127.0.0.1:8000"]': f"[{targets}]",
                "127.0.0.1:9091": stack["pushgateway"].removeprefix("http://"),
                "127.0.0.1:9093": stack["alertmanager"].removeprefix("http://"),
            },
        )
    )
    stack["prometheus"] = f"http://127.0.0.1:{port}"
    return _start(
        [PROMETHEUS or "", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        tmp / "prometheus.log",
    )  # fmt: skip


@pytest.fixture(scope="module")
def stack(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("monitoring-stack")
    found: dict[str, Any] = {}
    processes = _start_exporters(tmp, webhook, found)
    try:
        good, broken = free_port(), free_port()
        # The good server must answer every request while the pipeline run loads the (shared, 2-core) host:
        # shedding on loop lag or busy time would measure the host, not the stack (as in the serving faults).
        env = {**os.environ, "TRIPCAST_MODEL_NAME": MODEL_NAME, "TRIPCAST_ENV": "local",
               "TRIPCAST_ALLOW_ANONYMOUS_PREDICTIONS": "true", "TRIPCAST_CACHE_SIZE": "0",
               "TRIPCAST_MAX_LOOP_LAG_MS": "0", "TRIPCAST_MAX_LOOP_BUSY": "0"}  # fmt: skip
        tracking_uri = _train_champion(shared_data_dir, tmp)
        _running_experiment(tmp / "good")
        processes.append(
            _serve(env | {"TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri, "TRIPCAST_DATA_DIR": str(tmp / "good")},
                   good, tmp / "good.log", "/health/ready")
        )  # fmt: skip
        empty = f"sqlite:///{tmp / 'empty.db'}"  # no model at all: every prediction answers 503
        processes.append(
            _serve(env | {"TRIPCAST_MLFLOW_TRACKING_URI": empty, "TRIPCAST_DATA_DIR": str(tmp / "broken")},
                   broken, tmp / "broken.log", "/health/live")
        )  # fmt: skip
        processes.append(_start_prometheus(tmp, (good, broken), found))
        result = Stack(
            found["prometheus"], found["alertmanager"], found["pushgateway"],
            f"http://127.0.0.1:{good}", f"http://127.0.0.1:{broken}", webhook, processes,
        )  # fmt: skip
        _wait(lambda: httpx.get(f"{result.prometheus}/-/ready").status_code == 200, 60, "prometheus ready")
        _pipeline_run(result, shared_data_dir, tmp)
        yield result
    finally:
        for process in reversed(processes):
            stop_process(process)


def _pipeline_run(stack: Stack, shared_data_dir: Path, tmp: Path) -> None:
    """``tripcast pipeline run`` on January while the good server takes load; it pushes to the Pushgateway."""
    env = {**os.environ, "TRIPCAST_DATA_DIR": str(tmp / "pipeline"), "TRIPCAST_PUSHGATEWAY_URL": stack.pushgateway}
    command = [sys.executable, "-c", "from tripcast.cli.app import main; main()", "pipeline", "run",
               "--month", "2021-01", "--source", str(shared_data_dir)]  # fmt: skip
    with httpx.Client(base_url=stack.good, timeout=10) as client:
        pipeline = subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        statuses = []
        started = time.monotonic()
        while pipeline.poll() is None or time.monotonic() - started < 8:
            trip = TRIP | {"trip_distance": 1 + (len(statuses) % 50) / 10}
            statuses.append(client.post("/v1/predictions", json=trip).status_code)
            time.sleep(0.02)
        # A few failures (0.5 %, under the page threshold): the availability SLI's error rate has a series
        # only once a 5xx was counted (the generated rules divide two sums; an absent numerator is no data).
        for _ in range(5):
            assert httpx.post(f"{stack.broken}/v1/predictions", json=TRIP, timeout=10).status_code == 503
    output = pipeline.stdout.read().decode(errors="replace") if pipeline.stdout else ""
    assert pipeline.returncode == 0, output[-3000:]
    assert statuses and set(statuses) == {200}


def test_prometheus_scrapes_the_api_and_pushgateway_and_the_slo_rules_record(stack: Stack) -> None:
    _wait(lambda: len(stack.query('up{job="tripcast-api"} == 1')) == 2, 30, "both API targets up")
    _wait(lambda: bool(stack.query('up{job="pushgateway"} == 1')), 30, "pushgateway target up")
    _wait(
        lambda: bool(stack.query('tripcast_job_succeeded{job="tripcast_pipeline"} == 1')),
        30,
        "the pipeline run's push scraped through the Pushgateway",
    )
    _wait(
        lambda: bool(stack.query('slo:sli_error:ratio_rate5m{sloth_slo="predictions-availability"}')),
        30,
        "the availability SLI recorded",
    )
    for record in (
        "slo:sli_error:ratio_rate5m",
        "slo:current_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    ):
        assert stack.query(f'{record}{{sloth_slo="predictions-latency"}}'), record
    assert stack.query('slo:sli_error:ratio_rate5m{sloth_slo="pipeline-quality"}') or stack.query(
        "tripcast_data_rows"
    ), "the pipeline's quality metrics reached Prometheus"


def test_every_dashboard_panel_answers_where_the_stack_has_the_data(stack: Stack) -> None:
    _wait(lambda: bool(stack.query("tripcast_predictions_total")), 30, "predictions scraped")
    _wait(lambda: bool(stack.query("slo:period_error_budget_remaining:ratio")), 30, "budgets recorded")
    empty: dict[str, list[str]] = {}
    for dashboard in sorted(DASHBOARDS.glob("*.json")):
        for expr in panel_queries(dashboard.read_text()):
            expr = expr.replace("$__rate_interval", "1m")
            if not stack.query(expr):
                empty.setdefault(dashboard.stem, []).append(expr)
    unexplained = [e for exprs in empty.values() for e in exprs if e not in NO_DATA_HERE]
    assert not unexplained, f"panels without data: {unexplained}"
    assert "serving" not in empty or set(empty["serving"]) <= set(NO_DATA_HERE)
    assert set(empty.get("slo", [])) <= {FIRING_PANEL}, empty.get("slo")
    assert len(empty.get("experiments", [])) <= 1, empty.get("experiments")  # only the fallback panel
    exposed = stack.query(f'tripcast_experiment_exposures_total{{experiment="{EXPERIMENT}"}}')
    assert {series["metric"]["arm"] for series in exposed} == {"control", "treatment"}
    assert "tripcast_data_rows" in str(panel_queries((DASHBOARDS / "data.json").read_text()))
    assert not {e for e in empty.get("data", []) if "tripcast_data_rows" in e or "quarantined" in e}, "pipeline push"


def test_a_forced_slo_breach_fires_and_alertmanager_delivers_it_to_the_webhook(stack: Stack) -> None:
    with httpx.Client(base_url=stack.broken, timeout=10) as client:
        deadline = time.monotonic() + 90
        delivered: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not delivered:
            assert client.post("/v1/predictions", json=TRIP).status_code == 503  # no model: a failed request
            time.sleep(0.02)
            delivered = [body for _, body in stack.webhook.received if "TripcastPredictionsAvailability" in str(body)]
    assert delivered, f"nothing reached the webhook; alerts: {httpx.get(f'{stack.alertmanager}/api/v2/alerts').text}"
    [path] = {path for path, body in stack.webhook.received if body in delivered}
    assert path == "/hooks/tripcast"
    firing = stack.query('ALERTS{alertname="TripcastPredictionsAvailability", alertstate="firing"}')
    assert {a["metric"]["sloth_severity"] for a in firing} >= {"page"}
    alerts = httpx.get(f"{stack.alertmanager}/api/v2/alerts").json()
    assert any(a["labels"]["alertname"] == "TripcastPredictionsAvailability" for a in alerts)

"""Traces of a real ``tripcast serve`` received over OTLP/HTTP by a local receiver (issue #15 item 1).

The server samples every trace (ratio 1.0) and exports to a receiver this test runs; a prediction's spans
must form the tree HTTP server span -> ``tripcast.predict`` -> cache lookup and model spans, carry the model
version, carry no trip field and no credential, and share their trace id with the request's JSON log line.
With the collector down the server still answers every prediction.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import httpx
import pytest
from serving_champion import MODEL_NAME, Champion

from support.otlp_receiver import SERVER, ReceivedSpan, otlp_receiver
from support.serve_process import free_port, serve_process

TOKEN = "tracing-token-0123456789abcdef"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}
#: A caller's W3C trace context: the server's span must continue this trace under this parent.
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
#: A predictions latency bucket's exemplar: ``..._bucket{..,route="/v1/predictions",..} N # {trace_id="..."} v``
EXEMPLAR = re.compile(
    r'^tripcast_http_request_duration_seconds_bucket\{[^}]*route="/v1/predictions"[^}]*\} \S+ '
    r'# \{trace_id="([0-9a-f]{32})"\}',
    re.MULTILINE,
)
QUERY_SECRET = "query-secret-9f8e7d6c5b4a"
#: What OpenTelemetry's ASGI middleware records about the caller and the URL, and Tripcast's server span must not.
CALLER_ATTRIBUTES = {
    "client.address", "client.port", "net.peer.ip", "net.peer.port", "http.client_ip", "user_agent.original",
    "http.user_agent", "http.target", "http.url", "url.full", "url.query", "url.path", "net.host.port",
    "server.address", "server.port", "http.host",
}  # fmt: skip
#: Words an attribute key must never contain (a trip's fields: where and when someone travelled).
TRIP_FIELDS = ("zone", "pickup", "dropoff", "distance", "latitude", "longitude", "location")


def _env(champion: Champion, tmp_path: Path, endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRIPCAST_MLFLOW_TRACKING_URI": champion.tracking_uri,
        "TRIPCAST_MODEL_NAME": MODEL_NAME,
        "TRIPCAST_DATA_DIR": str(tmp_path / "data"),
        "TRIPCAST_ENV": "local",
        "TRIPCAST_API_TOKEN": TOKEN,
        "TRIPCAST_OTEL_EXPORTER_ENDPOINT": endpoint,
        "TRIPCAST_OTEL_SAMPLING_RATIO": "1.0",
        "TRIPCAST_LOG_FORMAT": "json",
        "TRIPCAST_LOG_LEVEL": "DEBUG",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export every 200 ms, not 5 s: the test waits less
        # These tests check answers and spans, not shedding: loop lag and busy share measure the host, and on a
        # loaded CI machine they would refuse a request (tests/unit/serving/test_serving_load_shedding.py).
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
    }


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id and s.trace_id == parent.trace_id]


def _log_lines(log: Path) -> list[dict[str, object]]:
    lines = []
    for raw in log.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_a_prediction_is_one_trace_server_span_to_model_spans_with_version_no_pii_and_its_log_lines(
    champion: Champion, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with otlp_receiver() as receiver, serve_process(_env(champion, tmp_path, receiver.endpoint), log) as base:
        headers = {"Authorization": f"Bearer {TOKEN}", "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
        # A query string may carry a secret (a misconfigured client's token): it must not reach any span.
        answer = httpx.post(f"{base}/v1/predictions?api_key={QUERY_SECRET}", json=TRIP, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        request_id = answer.headers["X-Request-Id"]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        fresh = httpx.post(
            f"{base}/v1/predictions",
            json={"trips": [TRIP | {"trip_distance": 2.5}, TRIP | {"trip_distance": 3.1}]},
            headers=auth,
            timeout=10,
        )
        assert fresh.status_code == 200, fresh.text
        for path in ("/health/ready", "/health/live", "/metrics"):
            assert httpx.get(f"{base}{path}", timeout=5).status_code == 200
        # Prometheus asks for OpenMetrics when it stores exemplars: the latency buckets name sampled traces.
        scraped = httpx.get(f"{base}/metrics", headers={"Accept": OPENMETRICS}, timeout=5)
        assert scraped.headers["content-type"].startswith("application/openmetrics-text")
        spans = receiver.wait_for(lambda got: sum(s.name == "tripcast.model.predict" for s in got) >= 2)

    servers = [s for s in spans if s.kind == SERVER]
    assert {s.attributes.get("http.route") for s in servers} == {"/v1/predictions"}, "health and metrics untraced"
    continued = next(s for s in servers if s.trace_id == CALLER_TRACE)
    assert continued.parent_span_id == CALLER_SPAN  # the caller's trace continues (ParentBased sampling)
    assert any(s.parent_span_id == "" and s.trace_id != CALLER_TRACE for s in servers)  # a new root trace
    [predict] = [s for s in _children(spans, continued) if s.name == "tripcast.predict"]
    assert predict.attributes["tripcast.model.version"] == champion.version
    assert predict.attributes["tripcast.model.name"] == MODEL_NAME
    below = {s.name: s for s in _children(spans, predict)}
    assert {"tripcast.cache.lookup", "tripcast.model.predict"} <= set(below)
    assert below["tripcast.model.predict"].attributes["tripcast.model.version"] == champion.version
    assert continued.resource["service.name"] == "tripcast"
    # The server span identifies the request, not the caller: no address, agent, URL or query string.
    assert continued.name == "POST /v1/predictions"
    assert continued.attributes["http.request.method"] == "POST"
    assert continued.attributes["http.response.status_code"] == 200
    assert continued.attributes["tripcast.request_id"] == request_id
    assert continued.attributes["tripcast.model.version"] == champion.version == answer.headers["X-Model-Version"]
    for server in servers:
        assert not set(server.attributes) & CALLER_ATTRIBUTES, server.attributes

    for span in spans:
        for key, value in span.attributes.items():
            assert not any(word in key.lower() for word in TRIP_FIELDS), (span.name, key)
            assert TOKEN not in str(value) and "Bearer" not in str(value), (span.name, key)
            assert QUERY_SECRET not in str(value) and "127.0.0.1" not in str(value), (span.name, key)

    # Traces, logs and metrics of one request share its trace id: each exemplar on the predictions' latency
    # buckets is a server span's trace, and that request's log line names the same trace.
    exemplars = set(re.findall(EXEMPLAR, scraped.text))
    assert exemplars and exemplars <= {s.trace_id for s in servers}, scraped.text[-3000:]
    logged = {str(line["trace_id"]) for line in _log_lines(log) if str(line.get("event", "")).startswith("predicted")}
    assert exemplars <= logged

    lines = [line for line in _log_lines(log) if line.get("event") == "predicted 1 trip(s)"]
    assert lines, log.read_text()[-2000:]
    assert lines[0]["trace_id"] == CALLER_TRACE and lines[0]["span_id"] == continued.span_id
    assert lines[0]["request_id"] == request_id and lines[0]["model_version"] == champion.version
    assert TOKEN not in log.read_text()


def test_serving_never_fails_while_the_trace_collector_is_down(champion: Champion, tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens: every export is refused
    log = tmp_path / "serve.log"
    with serve_process(_env(champion, tmp_path, nobody), log) as base:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
            statuses = [client.post("/v1/predictions", json=TRIP).status_code for _ in range(200)]
            # Past several failed export rounds (200 ms apart), the server still answers at once.
            answer = client.post("/v1/predictions", json={"trips": [TRIP] * 10})
        assert statuses == [200] * 200
        assert answer.status_code == 200 and answer.json()["count"] == 10
        assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200


@pytest.fixture(autouse=True)
def _no_global_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The servers are subprocesses; this process's own OpenTelemetry settings must not leak into them."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name, raising=False)


def test_at_ten_percent_a_tenth_of_requests_are_traced_whole_and_the_rest_leave_no_span(
    champion: Champion, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    env = _env(champion, tmp_path, "") | {"TRIPCAST_OTEL_SAMPLING_RATIO": "0.1", "TRIPCAST_CACHE_SIZE": "0"}
    with otlp_receiver() as receiver:
        env["TRIPCAST_OTEL_EXPORTER_ENDPOINT"] = receiver.endpoint
        with serve_process(env, log) as base, httpx.Client(base_url=base, timeout=10) as client:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            for i in range(300):
                trip = TRIP | {"trip_distance": 1 + i / 100}
                assert client.post("/v1/predictions", json=trip, headers=auth).status_code == 200
            time.sleep(1.5)  # a few export rounds (200 ms apart) after the last request
            spans = list(receiver.spans)
    servers = [s for s in spans if s.kind == SERVER]
    assert 10 <= len(servers) <= 60, len(servers)  # binomial(300, 0.1): 30 +- 15 is > 99.9 % of outcomes
    predicts = [s for s in spans if s.name == "tripcast.predict"]
    # Whole traces or nothing: every sampled request has its predict span under its server span, no orphans.
    assert sorted(p.parent_span_id for p in predicts) == sorted(s.span_id for s in servers)
    traced = {s.trace_id for s in servers}
    lines = [line for line in _log_lines(log) if line.get("event") == "predicted 1 trip(s)"]
    assert len(lines) == 300 and all(len(str(line["trace_id"])) == 32 for line in lines)
    assert {str(line["trace_id"]) for line in lines} >= traced  # sampled requests' lines name their trace

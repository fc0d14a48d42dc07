"""``/v1/console/*``: the web console's read-only JSON, for viewers and up; 401 without a key."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.api_keys import KeyTable
from tripcast.api.routes.console import add_console_routes, histogram_quantile
from tripcast.api.security import AccessPolicy
from tripcast.bootstrap.serving import ServingMetrics
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.pipeline import MonthDataRecord, StepRun
from tripcast.core.ports.serving import DistributionComparison

KEYS = {"viewer-key": Identity("carol", Role.VIEWER), "approver-key": Identity("ann", Role.APPROVER)}
VIEWER = {"Authorization": "Bearer viewer-key"}


def client(
    metrics: ServingMetrics | None = None, versions: Any = None, runs: Any = None, drift: Any = None
) -> TestClient:
    parts = SimpleNamespace(
        prediction=SimpleNamespace(drift=drift),
        settings=SimpleNamespace(model_name="trip-duration", service="green"),
        metrics=metrics or ServingMetrics(),
        model_versions=versions,
        data_runs=runs,
    )
    app = FastAPI()
    add_console_routes(app.router, parts, AccessPolicy(KeyTable(KEYS)))  # type: ignore[arg-type]
    return TestClient(app)


def test_every_console_route_needs_a_key_that_may_read_the_model() -> None:
    api = client()
    for path in ("/v1/console/zones", "/v1/console/models", "/v1/console/monitoring", "/v1/console/whoami"):
        assert api.get(path).status_code == 401, path
        assert api.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401, path


def test_zones_come_with_their_borough_sorted_for_the_picker() -> None:
    zones = client().get("/v1/console/zones", headers=VIEWER).json()["zones"]
    assert len(zones) >= 260
    by_id = {zone["id"]: zone for zone in zones}
    assert by_id[132] == {"id": 132, "name": "JFK Airport", "borough": "Queens"}
    assert zones == sorted(zones, key=lambda zone: (zone["borough"], zone["name"]))


def test_whoami_names_the_role_and_what_it_may_do() -> None:
    api = client()
    viewer = api.get("/v1/console/whoami", headers=VIEWER).json()
    approver = api.get("/v1/console/whoami", headers={"Authorization": "Bearer approver-key"}).json()
    assert (viewer["name"], viewer["role"], viewer["permissions"]) == ("carol", "viewer", ["read_model"])
    assert "approve" in approver["permissions"] and "operate" not in approver["permissions"]
    assert "approver" in viewer["roles_with"]["approve"]


def test_models_lists_versions_newest_first_without_internals() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    versions = [
        ModelVersion(
            "trip-duration", "2", ("champion",), {"val_rmse": 5.1}, source="s3://x", created_at=when, run_id="r2"
        ),
        ModelVersion("trip-duration", "10", (), {"val_rmse": 4.9}, run_id="r10"),
    ]
    asked: list[str] = []
    body = client(versions=lambda model: asked.append(model) or versions).get("/v1/console/models", headers=VIEWER)
    assert body.status_code == 200 and asked == ["trip-duration"]
    rows = body.json()["versions"]
    assert [row["version"] for row in rows] == ["10", "2"]
    assert rows[1] == {
        "version": "2",
        "aliases": ["champion"],
        "metrics": {"val_rmse": 5.1},
        "created_at": when.isoformat(),
    }


def test_models_answers_503_when_the_registry_cannot_be_read() -> None:
    def down(model: str) -> list[ModelVersion]:
        raise ConnectionError("registry database refused the connection")

    assert client().get("/v1/console/models", headers=VIEWER).status_code == 503
    refused = client(versions=down).get("/v1/console/models", headers=VIEWER)
    assert refused.status_code == 503 and "refused the connection" in refused.json()["detail"]


def test_monitoring_reads_latency_refusals_and_drift_from_the_process_metrics() -> None:
    from prometheus_client import Gauge

    metrics = ServingMetrics()
    for seconds in [0.002] * 90 + [0.04] * 10:
        metrics.request_latency.labels("POST", "/v1/predictions", "200").observe(seconds)
        metrics.requests.labels("POST", "/v1/predictions", "200").inc()
    metrics.request_latency.labels("GET", "/health/live", "200").observe(3.0)  # another route: not counted
    metrics.rejected.labels("in_flight").inc(25)
    score = Gauge("tripcast_drift_feature_score", "s", ["model", "feature", "method"], registry=metrics.registry)
    flag = Gauge("tripcast_drift_feature_drifted", "d", ["model", "feature"], registry=metrics.registry)
    score.labels("trip-duration", "trip_distance", "psi").set(0.31)
    flag.labels("trip-duration", "trip_distance").set(1)
    body = client(metrics).get("/v1/console/monitoring", headers=VIEWER).json()
    serving = body["serving"]
    assert serving["requests"] == 100 and serving["rejected"] == {"in_flight": 25.0}
    assert serving["shed_rate"] == pytest.approx(25 / 125)
    assert 1.0 < serving["latency_ms"]["p50"] <= 2.5 and 25.0 < serving["latency_ms"]["p99"] <= 50.0
    assert body["drift"]["features"] == [{"feature": "trip_distance", "method": "psi", "score": 0.31, "drifted": True}]
    assert body["live_error"] == []
    assert body["prediction_distribution"] is None  # no drift window on this server


def test_monitoring_shows_the_served_predictions_histogram_beside_the_training_reference() -> None:
    class Window:
        def prediction_distribution(self, bins: int = 20) -> DistributionComparison:
            return DistributionComparison([0.0, 10.0, 20.0], [0.75, 0.25], [0.5, 0.5], 6000, 300)

    body = client(drift=Window()).get("/v1/console/monitoring", headers=VIEWER).json()
    assert body["prediction_distribution"] == {
        "edges": [0.0, 10.0, 20.0], "reference": [0.75, 0.25], "current": [0.5, 0.5],
        "n_reference": 6000, "n_current": 300,
    }  # fmt: skip


def test_histogram_quantile_interpolates_within_a_bucket_like_promql() -> None:
    buckets = [(0.01, 50.0), (0.1, 100.0), (math.inf, 100.0)]
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.01)
    assert histogram_quantile(buckets, 0.75) == pytest.approx(0.055)
    assert histogram_quantile([(0.01, 0.0), (math.inf, 0.0)], 0.5) is None
    assert histogram_quantile([(0.01, 1.0), (math.inf, 10.0)], 0.99) == pytest.approx(0.01)


class Records:
    """A fixed ``DataRunHistory``."""

    def __init__(self, *months: MonthDataRecord) -> None:
        self.records = list(months)

    def months(self) -> list[MonthDataRecord]:
        return self.records


def test_data_lists_each_months_run_counts_quarantine_and_quality_and_totals_the_reasons() -> None:
    january = MonthDataRecord(
        "2021-01", "green", [StepRun("validate", "complete", 1.5, "2026-12-07T10:00:00", {"input": 100}),
                             StepRun("transform", "failed", 0.5, error="disk full")],
        100, 90, 10, {"unknown_zone": 6, "fare_negative": 4}, "warn", [], ["quarantine_rate"], ["quality report"],
    )  # fmt: skip
    february = MonthDataRecord("2021-02", "green", [], 6, 3, 3, {"unknown_zone": 2}, sources=["validated files"])
    api = client(runs=lambda: Records(january, february))
    assert api.get("/v1/console/data").status_code == 401
    body = api.get("/v1/console/data", headers=VIEWER).json()
    assert body["service"] == "green" and [m["month"] for m in body["months"]] == ["2021-01", "2021-02"]
    first, second = body["months"]
    assert first["run"]["status"] == "failed" and first["run"]["seconds"] == 2.0
    assert first["run"]["steps"][1] == {
        "name": "transform", "status": "failed", "seconds": 0.5, "finished_at": None, "rows": {}, "error": "disk full"
    }  # fmt: skip
    assert first["quality"] == {"status": "warn", "failed_checks": [], "warned_checks": ["quarantine_rate"]}
    assert (first["rows_in"], first["rows_valid"], first["rows_quarantined"]) == (100, 90, 10)
    assert second["run"] is None and second["quality"] is None and second["sources"] == ["validated files"]
    assert body["reasons"] == {"unknown_zone": 8, "fare_negative": 4}  # over every month, most first


def test_data_is_empty_before_anything_ran_absent_when_not_wired_and_503_when_unreadable() -> None:
    empty = client(runs=lambda: Records()).get("/v1/console/data", headers=VIEWER).json()
    assert empty == {"service": "green", "months": [], "reasons": {}}
    assert client().get("/v1/console/data", headers=VIEWER).status_code == 404

    class Unreadable:
        def months(self) -> list[MonthDataRecord]:
            raise PermissionError("data/pipeline: permission denied")

    refused = client(runs=lambda: Unreadable()).get("/v1/console/data", headers=VIEWER)
    assert refused.status_code == 503 and "permission denied" in refused.json()["detail"]

"""Exports against real services: PostgreSQL upserts (no duplicates on rerun), HTTP batches with retries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from support.pipeline_runs import run_pipeline
from tripcast.core.domain.month import Month
from tripcast.data_engineering.export import DeliveryError, HttpExporter, PostgresExporter, export_features
from tripcast.data_engineering.lineage import DatasetRef, lineage_emitter
from tripcast.settings import Settings


def _zone_hour() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pickup_zone": [10, 10, 20],
            "feature_timestamp": pd.to_datetime(["2021-01-05 09:00", "2021-01-05 10:00", "2021-01-05 09:00"]),
            "zone_trips_1h": [2, 1, 5],
            "zone_median_duration_1h": [12.5, 30.0, None],
            "zone_mean_speed_1h": [10.0, 11.0, 12.0],
        }
    )


def test_postgres_upsert_is_idempotent_and_updates(postgres_url):
    exporter = PostgresExporter(postgres_url)
    try:
        frame = _zone_hour().assign(service="green")
        key = ("service", "pickup_zone", "feature_timestamp")
        assert exporter.upsert("features_zone_hour", frame, key) == 3
        assert exporter.upsert("features_zone_hour", frame, key) == 3
        assert exporter.count("features_zone_hour") == 3
        changed = frame.assign(zone_trips_1h=[7, 1, 5])
        exporter.upsert("features_zone_hour", changed, key)
        with exporter.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT zone_trips_1h, zone_median_duration_1h FROM features_zone_hour "
                    "ORDER BY pickup_zone, feature_timestamp"
                )
            ).all()
        assert rows == [(7, 12.5), (1, 30.0), (5, None)]
    finally:
        exporter.close()


def test_pipeline_export_to_postgres_twice_creates_no_duplicates(postgres_url, shared_data_dir, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", export_postgres_url=postgres_url)
    first = run_pipeline("2021-01", settings, source_dir=shared_data_dir)
    n_hour = first.step("transform").rows["zone_hour"]
    assert first.step("export").rows["postgres:zone_hour"] == n_hour
    run_pipeline("2021-01", settings, source_dir=shared_data_dir, force=True)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM features_zone_hour")).scalar_one() == n_hour
        n_pair = conn.execute(sa.text("SELECT count(*) FROM features_zone_pair")).scalar_one()
    engine.dispose()
    assert n_pair == first.step("transform").rows["zone_pair"]


def test_http_export_batches_and_retries(http_server):
    url, recorder = http_server
    recorder.statuses = [500, 200, 429, 200]
    exporter = HttpExporter(url + "/ingest", batch_size=2, backoff_seconds=0.01)
    try:
        assert exporter.send("zone_hour", _zone_hour()) == 2
    finally:
        exporter.close()
    delivered = [r["body"] for r in recorder.requests if r["status"] == 200]
    assert [len(b["rows"]) for b in delivered] == [2, 1]
    assert delivered[0]["rows"][0]["feature_timestamp"] == "2021-01-05T09:00:00"
    assert [r["status"] for r in recorder.requests] == [500, 200, 429, 200]


def test_http_export_does_not_retry_a_client_error(http_server):
    url, recorder = http_server
    recorder.statuses = [400]
    exporter = HttpExporter(url, backoff_seconds=0.01)
    with pytest.raises(DeliveryError, match="HTTP 400"):
        exporter.send("zone_hour", _zone_hour())
    exporter.close()
    assert len(recorder.requests) == 1


def test_export_features_to_http_from_settings(http_server, tmp_path):
    url, recorder = http_server
    settings = Settings(data_dir=tmp_path, export_http_url=url)
    sent = export_features({"zone_hour": _zone_hour()}, settings, service="green", month=Month(2021, 1))
    assert sent == {("http", "zone_hour"): 1}
    assert recorder.requests[0]["body"]["rows"][0]["service"] == "green"


def test_lineage_events_go_to_an_http_endpoint(http_server, tmp_path: Path):
    url, recorder = http_server
    emitter = lineage_emitter(tmp_path / "unused", url=url)
    source = DatasetRef("file", "/data/raw/green_tripdata_2021-01.parquet", (("trip_distance", "double"),))
    run_id = emitter.start("tripcast.pipeline.validate", [source])
    emitter.complete("tripcast.pipeline.validate", run_id, [source], [DatasetRef("file", "/data/processed/x")])
    assert [r["path"] for r in recorder.requests] == ["/api/v1/lineage"] * 2
    start, complete = (r["body"] for r in recorder.requests)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] == run_id
    fields = complete["inputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("trip_distance", "double")]
    assert not (tmp_path / "unused").exists()


def test_quality_metrics_are_pushed_to_a_pushgateway(http_server, tmp_path):
    from tripcast.data_engineering.quality import build_quality_report, export_quality_metrics

    url, recorder = http_server
    valid = pd.DataFrame(
        {
            "pickup_datetime": pd.date_range("2021-01-01", periods=3000, freq="15min"),
            "dropoff_datetime": pd.date_range("2021-01-01 00:10", periods=3000, freq="15min"),
            "pickup_zone": 10,
            "dropoff_zone": 20,
            "trip_distance": 2.0,
            "duration_minutes": 10.0,
            "vendor_id": 2,
            "total_amount": 12.0,
            "fare_amount": 10.0,
            "tip_amount": 0.0,
            "payment_type": 1,
            "passenger_count": 1,
        }
    )
    report = build_quality_report(valid, valid.head(0).assign(quarantine_reason=""), Month(2021, 1), history=[])
    assert export_quality_metrics(report, tmp_path, pushgateway_url=url) is None
    (request,) = recorder.requests
    assert request["path"] == "/metrics/job/tripcast_data_quality/dataset/trips/month/2021-01"
    assert 'tripcast_data_rows{dataset="trips",month="2021-01",outcome="valid"} 3000.0' in request["body"]
    assert not list(tmp_path.glob("*.prom"))


def test_pipeline_sends_lineage_to_the_configured_endpoint(http_server, shared_data_dir, tmp_path):
    url, recorder = http_server
    settings = Settings(data_dir=tmp_path / "data", lineage_url=url)
    run_pipeline("2021-02", settings, source_dir=shared_data_dir)
    events = [r["body"] for r in recorder.requests]
    assert [(e["job"]["name"].rsplit(".", 1)[-1], e["eventType"]) for e in events[:4]] == [
        ("ingest", "START"),
        ("ingest", "COMPLETE"),
        ("validate", "START"),
        ("validate", "COMPLETE"),
    ]
    assert len(events) == 10
    assert not (tmp_path / "data/lineage/events.jsonl").exists()

"""The monthly pipeline on a real TLC month: outputs, idempotent reruns, resume after failure, lineage, quality gate."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.pipeline_runs import run_pipeline
from tripcast.data_engineering.pipeline.manifest import Manifest
from tripcast.data_engineering.quality import QualityGateError
from tripcast.settings import Settings

STEPS = ["ingest", "validate", "transform", "quality", "export"]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_pipeline_runs_a_real_month_and_reruns_idempotently(settings, shared_data_dir):
    report = run_pipeline("2021-01", settings, source_dir=shared_data_dir)
    assert [s.name for s in report.steps] == STEPS
    assert not any(s.skipped for s in report.steps)
    validate = report.step("validate")
    assert validate.rows == {"input": 76_518, "valid": 73_844, "quarantined": 2_674}
    assert validate.details["reasons"]["duration_out_of_range"] == 2_544
    transform = report.step("transform")
    assert transform.rows["trips_enriched"] == 73_844
    hourly = pd.read_parquet(transform.outputs["zone_hour"])
    assert hourly.feature_timestamp.min() >= pd.Timestamp("2021-01-01")
    assert hourly.feature_timestamp.max() < pd.Timestamp("2021-02-01")
    assert (settings.data_dir / "features/zone_pair/service=green/month=2021-01").is_dir()
    quality = json.loads(Path(report.step("quality").outputs["report_json"]).read_text())
    assert quality["failed_checks"] == []
    assert "<img" in Path(report.step("quality").outputs["report_html"]).read_text()
    features = settings.data_dir / "features"
    before = _digest(features)

    rerun = run_pipeline("2021-01", settings, source_dir=shared_data_dir)
    assert all(s.skipped for s in rerun.steps)
    forced = run_pipeline("2021-01", settings, source_dir=shared_data_dir, force=True)
    assert not any(s.skipped for s in forced.steps)
    assert _digest(features) == before  # deterministic outputs: same bytes after a full rerun

    events = [json.loads(line) for line in (settings.data_dir / "lineage/events.jsonl").read_text().splitlines()]
    first_run = events[: 2 * len(STEPS)]
    assert [e["eventType"] for e in first_run] == ["START", "COMPLETE"] * len(STEPS)
    assert [e["job"]["name"] for e in first_run[::2]] == [f"tripcast.pipeline.{s}" for s in STEPS]
    transform_done = first_run[5]
    assert transform_done["inputs"][0]["name"].endswith("green_tripdata_2021-01.parquet")
    out_fields = {f["name"] for o in transform_done["outputs"] for f in o["facets"]["schema"]["fields"]}
    assert {"zone_median_duration_1h", "pair_median_duration_7d", "pickup_borough"} <= out_fields


def test_pipeline_resumes_at_the_failed_step(settings, shared_data_dir):
    blocker = settings.data_dir / "features"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")  # the transform step cannot create its partitions
    with pytest.raises(OSError):
        run_pipeline("2021-01", settings, source_dir=shared_data_dir)
    manifest = Manifest.load(settings.data_dir / "pipeline/green_2021-01.json")
    assert manifest.steps["validate"].status == "complete"
    assert manifest.steps["transform"].status == "failed"
    assert "quality" not in manifest.steps
    events = (settings.data_dir / "lineage/events.jsonl").read_text().splitlines()
    assert json.loads(events[-1])["eventType"] == "FAIL"

    blocker.unlink()
    resumed = run_pipeline("2021-01", settings, source_dir=shared_data_dir)
    assert [s.skipped for s in resumed.steps] == [True, True, False, False, False]
    assert resumed.step("transform").rows["trips_enriched"] == 73_844


def test_bad_rows_are_quarantined_counted_and_fail_named_checks(settings, shared_data_dir, tmp_path):
    raw = pd.read_parquet(shared_data_dir / "green_tripdata_2021-01.parquet")
    rng = np.random.default_rng(7)
    good = raw[(raw.lpep_dropoff_datetime - raw.lpep_pickup_datetime).dt.total_seconds().between(120, 3000)]
    good = good[good.trip_distance.between(0.5, 50) & (good.lpep_pickup_datetime >= "2021-01-01")]
    unknown_zone = good.sample(5_000, random_state=1).assign(PULocationID=999)
    duplicates = good.sample(2_000, random_state=2)
    bad_fares = rng.choice(raw.index, size=2_500, replace=False)
    raw.loc[bad_fares, "fare_amount"] = -50.0
    injected = pd.concat([raw, unknown_zone, duplicates], ignore_index=True)
    source = tmp_path / "source"
    source.mkdir()
    injected.to_parquet(source / "green_tripdata_2021-01.parquet", index=False)

    with pytest.raises(QualityGateError) as error:
        run_pipeline("2021-01", settings, source_dir=source)
    failed = set(error.value.failed)
    assert failed == {
        "quarantine_reason:unknown_pickup_zone",
        "uniqueness:"
        + "+".join(
            [
                "vendor_id",
                "pickup_datetime",
                "dropoff_datetime",
                "pickup_zone",
                "dropoff_zone",
                "trip_distance",
                "total_amount",
            ]
        ),
        "range:fare_amount",
    }

    report = json.loads((settings.data_dir / "reports/quality_green_trips_2021-01.json").read_text())
    assert set(report["failed_checks"]) == failed
    assert report["quarantine_reasons"]["unknown_pickup_zone"] == 5_000
    assert report["counts"]["input"] == len(injected)
    quarantine = pd.read_parquet(settings.data_dir / "quarantine/green_tripdata_2021-01.parquet")
    assert (quarantine.quarantine_reason.str.contains("unknown_pickup_zone")).sum() == 5_000
    assert (quarantine.pickup_zone == 999).sum() == 5_000
    assert report["counts"]["valid"] + report["counts"]["quarantined"] == len(injected)
    html = (settings.data_dir / "reports/quality_green_trips_2021-01.html").read_text()
    for name in failed:
        assert name in html
    prom = (settings.data_dir / "metrics/tripcast_quality_green_trips_2021-01.prom").read_text()
    assert (
        'tripcast_data_quarantined_rows{dataset="green_trips",month="2021-01",reason="unknown_pickup_zone"} 5000.0'
        in prom
    )
    manifest = Manifest.load(settings.data_dir / "pipeline/green_2021-01.json")
    assert manifest.steps["quality"].status == "failed"
    assert "export" not in manifest.steps
    shutil.rmtree(source)


def test_unknown_engine_is_a_clear_error(settings):
    from tripcast.core.domain.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="engine: 'flink': Input should be 'duckdb' or 'spark'"):
        run_pipeline("2021-01", settings, engine="flink")


def test_bad_month_and_step_are_named_in_one_error(settings):
    from tripcast.core.domain.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as error:
        run_pipeline("2021-13", settings, stop_after="train")
    assert [problem.field for problem in error.value.problems] == ["month", "stop_after"]


def test_validate_step_records_the_same_audit_event_as_tripcast_validate(settings, shared_data_dir):
    from tripcast.bootstrap import bootstrap

    run_pipeline("2021-01", settings, source_dir=shared_data_dir, stop_after="validate")
    [event] = bootstrap(settings).audit.events(actions=["dataset.validated"])
    assert event.actor == "test"
    assert event.subject == f"dataset:{settings.processed_path / 'green_tripdata_2021-01.parquet'}"
    assert (event.details["rows_in"], event.details["rows_valid"]) == ("76518", "73844")

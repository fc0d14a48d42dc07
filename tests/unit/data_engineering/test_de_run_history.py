"""``RunHistoryFiles``: the pipeline's manifests, its quality reports and plain validation's files, read back
per month, each written by the real writer (``Manifest``, ``write_report``, ``ParquetDatasetStore``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.data_engineering.pipeline.history import STEP_ORDER, RunHistoryFiles
from tripcast.data_engineering.pipeline.layout import Layout
from tripcast.data_engineering.pipeline.manifest import Manifest, StepRecord
from tripcast.data_engineering.quality.checks import CheckResult
from tripcast.data_engineering.quality.report import QualityReport, write_report
from tripcast.data_engineering.tlc.schema import REASON_COLUMN
from tripcast.data_engineering.tlc.store import ParquetDatasetStore


def history(data: Path) -> RunHistoryFiles:
    return RunHistoryFiles(data, data / "processed", data / "quarantine", "green")


def store(data: Path) -> ParquetDatasetStore:
    return ParquetDatasetStore(data / "processed", data / "quarantine", service="green")


def run_january(data: Path, *, quality_failed: bool) -> None:
    """What ``tripcast pipeline run 2021-01`` leaves: a manifest (transform failed) and a quality report."""
    manifest = Manifest.load(Layout(data, "green").manifest(Month(2021, 1)))
    rows = {"input": 100, "valid": 90, "quarantined": 10}
    details = {"reasons": {"distance_out_of_range": 7, "unknown_zone": 4}}
    manifest.record("validate", StepRecord("complete", "f1", rows=rows, seconds=1.5, details=details))
    manifest.record("transform", StepRecord("failed", "f2", seconds=0.5, error="disk full"))
    status = "fail" if quality_failed else "pass"
    check = CheckResult("quarantine_rate", status, 0.1, "<0.15", "10 % quarantined")
    report = QualityReport("green_trips", "2021-01", 100, 90, 10, {"distance_out_of_range": 7}, [check])
    write_report(report, data / "reports")


def test_steps_are_listed_in_the_pipelines_run_order() -> None:
    from tripcast.data_engineering.pipeline.steps import STEPS

    assert tuple(step.name for step in STEPS) == STEP_ORDER


def test_no_files_means_no_months(tmp_path: Path) -> None:
    assert history(tmp_path).months() == []
    assert history(tmp_path / "missing").months() == []


def test_a_pipeline_month_has_its_steps_and_the_quality_reports_counts(tmp_path: Path) -> None:
    run_january(tmp_path, quality_failed=True)
    (january,) = history(tmp_path).months()
    assert january.month == "2021-01" and january.service == "green"
    assert [(s.name, s.status, s.seconds) for s in january.steps] == [
        ("validate", "complete", 1.5),
        ("transform", "failed", 0.5),
    ]
    assert january.steps[1].error == "disk full" and january.run_status == "failed"
    assert (january.rows_in, january.rows_valid, january.rows_quarantined) == (100, 90, 10)
    # The quality report wins over the validate step's details (it is written after them).
    assert january.reasons == {"distance_out_of_range": 7}
    assert january.quality_status == "fail" and january.failed_checks == ["quarantine_rate"]
    assert january.sources == ["pipeline manifest", "quality report"]


def test_a_month_only_validated_reads_counts_and_reasons_from_its_files(tmp_path: Path) -> None:
    files = store(tmp_path)
    files.save_processed(Month(2021, 2), pd.DataFrame({"trip_distance": [1.0, 2.0, 3.0]}))
    reasons = ["unknown_zone", "unknown_zone; distance_out_of_range", "fare_negative"]
    files.save_quarantine(Month(2021, 2), pd.DataFrame({"trip_distance": [0.0] * 3, REASON_COLUMN: reasons}))
    (february,) = history(tmp_path).months()
    assert (february.rows_in, february.rows_valid, february.rows_quarantined) == (6, 3, 3)
    # A row with several reasons counts for each; most frequent first.
    assert february.reasons == {"unknown_zone": 2, "distance_out_of_range": 1, "fare_negative": 1}
    assert february.steps == [] and february.run_status is None and february.quality_status is None
    assert february.sources == ["validated files"]


def test_months_come_oldest_first_and_other_services_and_broken_files_are_left_out(tmp_path: Path) -> None:
    run_january(tmp_path, quality_failed=False)
    files = store(tmp_path)
    files.save_processed(Month(2020, 12), pd.DataFrame({"x": [1]}))
    files.save_quarantine(Month(2020, 12), pd.DataFrame({"x": [2], REASON_COLUMN: ["unknown_zone"]}))
    (tmp_path / "pipeline" / "yellow_2021-03.json").write_text('{"steps": {}}')  # another service
    (tmp_path / "reports" / "quality_green_trips_2021-04.json").write_text("{not json")
    months = history(tmp_path).months()
    assert [m.month for m in months] == ["2020-12", "2021-01"]
    assert months[1].quality_status == "pass" and months[1].run_status == "failed"
    # The January files written after the pipeline do not override its records.
    files.save_processed(Month(2021, 1), pd.DataFrame({"x": [1]}))
    files.save_quarantine(Month(2021, 1), pd.DataFrame({"x": [2], REASON_COLUMN: ["fare_negative"]}))
    assert history(tmp_path).months()[1].rows_in == 100

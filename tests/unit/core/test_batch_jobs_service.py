"""BatchJobs: every run is recorded with its outcome, duration and counts, a failing one too (and re-raised)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tripcast.core.ports.clock import Clock
from tripcast.core.ports.job_metrics import JobMetrics, JobRun
from tripcast.core.services.batch_jobs import BatchJobs


class FixedClock(Clock):
    def now(self) -> datetime:
        return datetime(2026, 12, 7, tzinfo=UTC)


class RecordedRuns(JobMetrics):
    def __init__(self) -> None:
        self.runs: list[JobRun] = []

    def record(self, run: JobRun) -> None:
        self.runs.append(run)


def test_a_successful_run_is_recorded_with_its_counts() -> None:
    recorded = RecordedRuns()
    with BatchJobs(metrics=recorded, clock=FixedClock()).run("pipeline", month="2021-01") as counts:
        counts["validate_valid"] = 76_000
    [run] = recorded.runs
    assert (run.job, run.grouping, run.succeeded, run.counts) == ("pipeline", {"month": "2021-01"}, True,
                                                                  {"validate_valid": 76_000})  # fmt: skip
    assert run.seconds >= 0 and run.finished_at == datetime(2026, 12, 7, tzinfo=UTC)


def test_a_failing_run_is_recorded_as_failed_and_the_error_goes_on() -> None:
    recorded = RecordedRuns()
    with pytest.raises(RuntimeError, match="boom"), BatchJobs(metrics=recorded, clock=FixedClock()).run("drift"):
        raise RuntimeError("boom")
    assert [run.succeeded for run in recorded.runs] == [False]

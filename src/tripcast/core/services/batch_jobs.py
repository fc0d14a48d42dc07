"""Batch jobs (pipeline, drift checks, retraining) report their outcome for monitoring: ``with jobs.run(...)``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from tripcast.core.ports.clock import Clock
from tripcast.core.ports.job_metrics import JobMetrics, JobRun


class BatchJobs:
    """Times a job and records its outcome and counts, success or failure."""

    def __init__(self, *, metrics: JobMetrics, clock: Clock) -> None:
        self.metrics = metrics
        self.clock = clock

    @contextmanager
    def run(self, job: str, **grouping: str) -> Iterator[dict[str, float]]:
        """Run the block as ``job``; the yielded dict collects counts (rows, say) to publish with it."""
        counts: dict[str, float] = {}
        started = time.perf_counter()
        succeeded = False
        try:
            yield counts
            succeeded = True
        finally:
            seconds = time.perf_counter() - started
            self.metrics.record(JobRun(job, dict(grouping), succeeded, self.clock.now(), seconds, counts))

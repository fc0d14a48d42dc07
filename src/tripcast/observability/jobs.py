"""Batch job outcomes for Prometheus: pushed to a Pushgateway, else written as a node-exporter textfile.

Per job and grouping (``job="tripcast_pipeline", month="2021-01"``):
``tripcast_job_succeeded`` (1/0), ``tripcast_job_duration_seconds``, ``tripcast_job_last_run_timestamp_seconds``,
``tripcast_job_last_success_timestamp_seconds`` (kept from the last success when a run fails: pushes use
POST, which replaces only the metrics pushed) and ``tripcast_job_count{kind}`` for the job's counts.
Alert on "no success for N hours" with ``time() - tripcast_job_last_success_timestamp_seconds``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway, write_to_textfile

from tripcast.core.ports.job_metrics import JobMetrics, JobRun
from tripcast.security.urls import mask_url

log = logging.getLogger(__name__)


def job_registry(run: JobRun) -> CollectorRegistry:
    """The run's gauges in a fresh registry."""
    registry = CollectorRegistry()
    Gauge("tripcast_job_succeeded", "1 when the job's last run succeeded", registry=registry).set(int(run.succeeded))
    Gauge("tripcast_job_duration_seconds", "Duration of the job's last run", registry=registry).set(run.seconds)
    finished = run.finished_at.timestamp()
    Gauge("tripcast_job_last_run_timestamp_seconds", "When the last run ended", registry=registry).set(finished)
    if run.succeeded:
        Gauge("tripcast_job_last_success_timestamp_seconds", "When the last successful run ended",
              registry=registry).set(finished)  # fmt: skip
    if run.counts:
        counts = Gauge("tripcast_job_count", "What the last run counted (rows, ...)", ["kind"], registry=registry)
        for kind, value in run.counts.items():
            counts.labels(kind=kind).set(value)
    return registry


class PushgatewayJobMetrics(JobMetrics):
    """POST each run to the Pushgateway at ``url`` under ``job=tripcast_<job>`` and the run's grouping."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def record(self, run: JobRun) -> None:
        try:
            pushadd_to_gateway(self.url, job=f"tripcast_{run.job}", registry=job_registry(run),
                               grouping_key=run.grouping, timeout=self.timeout)  # fmt: skip
        except OSError as exc:  # monitoring must not fail the job it reports on
            log.warning("could not push %s metrics to the Pushgateway at %s: %s", run.job, mask_url(self.url), exc)


class TextfileJobMetrics(JobMetrics):
    """Write ``<directory>/tripcast_job_<job>[_<grouping>].prom`` for node-exporter's textfile collector."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record(self, run: JobRun) -> None:
        suffix = "".join(f"_{re.sub(r'[^A-Za-z0-9-]+', '-', v)}" for v in run.grouping.values())
        self.directory.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(self.directory / f"tripcast_job_{run.job}{suffix}.prom"), job_registry(run))

"""Quality metrics for Prometheus: pushed to a Pushgateway when configured, else a node-exporter textfile."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from tripcast.data_engineering.quality.report import QualityReport

_STATUS_VALUE = {"pass": 0, "warn": 1, "fail": 2}


def quality_registry(report: QualityReport) -> CollectorRegistry:
    """A fresh registry holding the report's counts, check values and statuses."""
    registry = CollectorRegistry()
    labels = {"dataset": report.dataset, "month": report.month}
    rows = Gauge("tripcast_data_rows", "Rows by pipeline outcome", ["dataset", "month", "outcome"], registry=registry)
    for outcome, n in (("input", report.n_input), ("valid", report.n_valid), ("quarantined", report.n_quarantined)):
        rows.labels(**labels, outcome=outcome).set(n)
    reasons = Gauge(
        "tripcast_data_quarantined_rows",
        "Quarantined rows by reason",
        ["dataset", "month", "reason"],
        registry=registry,
    )
    for reason, n in report.reasons.items():
        reasons.labels(**labels, reason=reason).set(n)
    value = Gauge(
        "tripcast_data_check_value",
        "Measured value of a quality check",
        ["dataset", "month", "check"],
        registry=registry,
    )
    status = Gauge(
        "tripcast_data_check_status",
        "Check status: 0 pass, 1 warn, 2 fail",
        ["dataset", "month", "check"],
        registry=registry,
    )
    for check in report.checks:
        value.labels(**labels, check=check.name).set(check.value)
        status.labels(**labels, check=check.name).set(_STATUS_VALUE[check.status])
    anomalies = Gauge(
        "tripcast_data_anomalous_days", "Days flagged by the robust z-score", ["dataset", "month"], registry=registry
    )
    anomalies.labels(**labels).set(len({a.day for a in report.anomalies}))
    return registry


def export_quality_metrics(
    report: QualityReport, textfile_dir: Path, pushgateway_url: str | None = None
) -> Path | None:
    """Push to ``pushgateway_url`` (job ``tripcast_data_quality``) or write ``<dir>/tripcast_quality.prom``.

    Returns the textfile path, or None when the metrics were pushed.
    """
    registry = quality_registry(report)
    if pushgateway_url:
        grouping = {"dataset": report.dataset, "month": report.month}
        push_to_gateway(pushgateway_url, job="tripcast_data_quality", registry=registry, grouping_key=grouping)
        return None
    textfile_dir.mkdir(parents=True, exist_ok=True)
    path = textfile_dir / f"tripcast_quality_{report.dataset}_{report.month}.prom"
    write_to_textfile(str(path), registry)
    return path

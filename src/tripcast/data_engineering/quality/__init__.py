"""Data quality: severity-graded checks, robust anomaly detection, JSON/HTML reports, Prometheus metrics."""

from tripcast.data_engineering.quality.anomaly import Anomaly, detect_daily_anomalies, flag_anomalies, robust_z_scores
from tripcast.data_engineering.quality.checks import CheckResult
from tripcast.data_engineering.quality.metrics import export_quality_metrics, quality_registry
from tripcast.data_engineering.quality.report import QualityReport, render_html, write_report
from tripcast.data_engineering.quality.run import (
    QualityGateError,
    QualityOutcome,
    build_quality_report,
    run_month_quality,
)

__all__ = [
    "Anomaly",
    "CheckResult",
    "QualityGateError",
    "QualityOutcome",
    "QualityReport",
    "build_quality_report",
    "detect_daily_anomalies",
    "export_quality_metrics",
    "flag_anomalies",
    "quality_registry",
    "render_html",
    "robust_z_scores",
    "run_month_quality",
    "write_report",
]

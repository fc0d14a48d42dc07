"""Run every quality check on a month's validated trips and publish the report and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import MonthDatasetStore
from tripcast.data_engineering.quality import checks as qc
from tripcast.data_engineering.quality.anomaly import anomalies_in
from tripcast.data_engineering.quality.metrics import export_quality_metrics
from tripcast.data_engineering.quality.month_stats import MonthStats, month_stats
from tripcast.data_engineering.quality.report import QualityReport, write_report
from tripcast.data_engineering.tlc.schema import DURATION_COLUMN, REQUIRED_COLUMNS
from tripcast.data_engineering.tlc.zones import ZoneLookup
from tripcast.settings import Settings

if TYPE_CHECKING:
    from tripcast.data_engineering.pipeline.layout import Layout

#: Columns that identify a trip record; a repeat is a duplicated record.
TRIP_IDENTITY = (
    "vendor_id",
    "pickup_datetime",
    "dropoff_datetime",
    "pickup_zone",
    "dropoff_zone",
    "trip_distance",
    "total_amount",
)
#: Optional columns TLC leaves null in ~45-48 % of 2021 green rows (see SOURCE.md): alert well above that.
OPTIONAL_NULL_LIMITS = {"passenger_count": (0.55, 0.75), "payment_type": (0.55, 0.75), "fare_amount": (0.01, 0.05)}
#: Columns holding TLC zone ids, checked against the zone lookup.
ZONE_COLUMNS = ("pickup_zone", "dropoff_zone")
#: (column, low, high, warn share, fail share). 0.2 % of 2021 fares are negative (refunds): tolerated below 0.5 %.
RANGES = (
    ("fare_amount", 0.0, 500.0, 0.005, 0.02),
    ("total_amount", 0.0, 1000.0, 0.005, 0.02),
    ("tip_amount", 0.0, 250.0, 0.001, 0.01),
    ("passenger_count", 0, 9, 0.0, 0.001),
)


class QualityGateError(TripcastError):
    """At least one ``fail`` check failed; the report says which and where it is."""

    def __init__(self, month: Month, failed: list[str], report_path: Path) -> None:
        self.failed = failed
        super().__init__(f"data quality gate failed for {month}: {', '.join(failed)} (report: {report_path})")


@dataclass(frozen=True)
class QualityOutcome:
    report: QualityReport
    json_path: Path
    html_path: Path
    metrics_path: Path | None


def build_quality_report(
    valid: pd.DataFrame | Path,
    quarantined: pd.DataFrame | Path,
    month: Month,
    *,
    dataset: str = "trips",
    history: list[int] | None = None,
    zones: ZoneLookup | None = None,
    min_rows: int = 1000,
) -> QualityReport:
    """All checks and anomalies for one month of validated (``valid``) and quarantined trips.

    Both may be DataFrames or parquet files; files are aggregated by DuckDB without loading them.
    """
    stats = month_stats(
        valid,
        quarantined,
        null_columns=[*REQUIRED_COLUMNS, DURATION_COLUMN, *OPTIONAL_NULL_LIMITS],
        ranges=[(c, lo, hi) for c, lo, hi, _, _ in RANGES],
        identity=TRIP_IDENTITY,
        id_columns=ZONE_COLUMNS,
        known_ids=(zones or ZoneLookup.bundled()).zone_ids,
        time_column="pickup_datetime",
    )
    return _report(stats, month, dataset, history or [], min_rows)


def _report(stats: MonthStats, month: Month, dataset: str, history: list[int], min_rows: int) -> QualityReport:
    n_input = stats.n_valid + stats.n_quarantined
    results = [qc.graded_null_rate(c, stats.null_rates[c], 0.0, 0.0) for c in (*REQUIRED_COLUMNS, DURATION_COLUMN)]
    results += [qc.graded_null_rate(c, stats.null_rates[c], w, f) for c, (w, f) in OPTIONAL_NULL_LIMITS.items()]
    results += [qc.graded_range(c, stats.out_of_range[c], lo, hi, w, f) for c, lo, hi, w, f in RANGES]
    results.append(qc.graded_uniqueness(list(TRIP_IDENTITY), stats.duplicate_share))
    results += [qc.graded_referential_integrity(c, stats.unknown_ids[c]) for c in ZONE_COLUMNS]
    results.append(qc.graded_freshness("pickup_datetime", stats.latest, month.end, timedelta(hours=48)))
    results.append(qc.volume(stats.n_valid, history, min_rows))
    results.append(qc.quarantine_rate(n_input, stats.n_quarantined, 0.05, 0.15))
    results += [qc.reason_rate(r, n, n_input, 0.01, 0.05) for r, n in stats.reasons.items()]
    daily = {
        name: {str(pd.Timestamp(str(d)).date()): float(v) for d, v in s.items()} for name, s in stats.daily.items()
    }
    return QualityReport(
        dataset=dataset,
        month=str(month),
        n_input=n_input,
        n_valid=stats.n_valid,
        n_quarantined=stats.n_quarantined,
        reasons=dict(sorted(stats.reasons.items(), key=lambda kv: -kv[1])),
        checks=results,
        anomalies=anomalies_in(stats.daily),
        daily=daily,
    )


def _history(store: MonthDatasetStore, month: Month, months_back: int = 6) -> list[int]:
    counts, current = [], month
    for _ in range(months_back):
        current = current.previous()
        path = store.processed_path(current)
        if path.is_file():
            counts.append(pq.ParquetFile(path).metadata.num_rows)
    return counts


def run_month_quality(month: Month, settings: Settings, store: MonthDatasetStore, layout: Layout) -> QualityOutcome:
    """Check a month already validated into ``store``; write the JSON/HTML report and the metrics."""
    report = build_quality_report(
        store.processed_path(month),
        store.quarantine_path(month),
        month,
        dataset=f"{settings.service}_trips",
        history=_history(store, month),
    )
    json_path, html_path = write_report(report, layout.reports_dir)
    metrics_path = export_quality_metrics(report, layout.metrics_dir, settings.pushgateway_url)
    return QualityOutcome(report, json_path, html_path, metrics_path)

"""The per-run quality report: JSON for machines, one self-contained HTML page (plots inlined as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI
import matplotlib.pyplot as plt
import pandas as pd

from tripcast.data_engineering.quality.anomaly import Anomaly
from tripcast.data_engineering.quality.checks import FAIL, WARN, CheckResult


@dataclass
class QualityReport:
    """Checks, anomalies and counts for one dataset of one run."""

    dataset: str
    month: str
    n_input: int
    n_valid: int
    n_quarantined: int
    reasons: dict[str, int]
    checks: list[CheckResult]
    anomalies: list[Anomaly] = field(default_factory=list)
    daily: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.status == FAIL]

    @property
    def warned_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.status == WARN]

    @property
    def status(self) -> str:
        return FAIL if self.failed_checks else WARN if self.warned_checks or self.anomalies else "pass"

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "month": self.month,
            "status": self.status,
            "counts": {"input": self.n_input, "valid": self.n_valid, "quarantined": self.n_quarantined},
            "quarantine_reasons": self.reasons,
            "failed_checks": self.failed_checks,
            "warned_checks": self.warned_checks,
            "checks": [c.as_dict() for c in self.checks],
            "anomalies": [asdict(a) for a in self.anomalies],
            "daily": self.daily,
        }


def write_report(report: QualityReport, directory: Path) -> tuple[Path, Path]:
    """Write ``<dataset>_<month>.json`` and ``.html`` under ``directory``; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"quality_{report.dataset}_{report.month}"
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(report.as_dict(), indent=2, default=str))
    html_path.write_text(render_html(report))
    return json_path, html_path


def _plot(series: dict[str, float], title: str, flagged: set[str]) -> str:
    """A line plot of a daily series with anomalous days in red, as a base64 PNG."""
    values = pd.Series(series, dtype=float)
    values.index = pd.to_datetime(values.index)
    fig, ax = plt.subplots(figsize=(7, 2.4), dpi=90)
    ax.plot(values.index, values.to_numpy(), marker="o", markersize=3, linewidth=1)
    bad = values[[str(d.date()) in flagged for d in values.index]]
    if len(bad):
        ax.scatter(bad.index, bad.to_numpy(), color="crimson", zorder=3, label="anomaly")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


_COLOURS = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828"}


def render_html(report: QualityReport) -> str:
    """One HTML page with no external resources: the status, every check, every anomaly, the daily plots."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(c.name)}</td><td style='color:{_COLOURS[c.status]};font-weight:bold'>{c.status}</td>"
        f"<td>{c.value:.4g}</td><td>{esc(c.threshold)}</td><td>{esc(c.message)}</td></tr>"
        for c in report.checks
    )
    reasons = "".join(f"<tr><td>{esc(r)}</td><td>{n:,}</td></tr>" for r, n in report.reasons.items())
    anomalies = "".join(
        f"<tr><td>{esc(a.series)}</td><td>{a.day}</td><td>{a.value:.4g}</td><td>{a.robust_z:+.2f}</td></tr>"
        for a in report.anomalies
    )
    plots = "".join(
        f"<img alt='{esc(name)}' src='data:image/png;base64,"
        f"{_plot(values, name, {a.day for a in report.anomalies if a.series == name})}'/>"
        for name, values in report.daily.items()
        if values
    )
    status = report.status
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Quality: {esc(report.dataset)} {esc(report.month)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}img{{display:block;margin:6px 0}}</style></head>
<body><h1>Data quality: {esc(report.dataset)} {esc(report.month)}</h1>
<p>Status: <b style="color:{_COLOURS[status]}">{status.upper()}</b> &mdash; {report.n_input:,} input rows,
{report.n_valid:,} valid, {report.n_quarantined:,} quarantined.</p>
<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>value</th><th>threshold</th><th>detail</th></tr>{rows}</table>
<h2>Quarantine reasons</h2><table><tr><th>reason</th><th>rows</th></tr>{reasons}</table>
<h2>Anomalous days (robust z-score, |z| &gt; 3.5)</h2>
<table><tr><th>series</th><th>day</th><th>value</th><th>robust z</th></tr>{anomalies}</table>
<h2>Daily series</h2>{plots}
</body></html>
"""

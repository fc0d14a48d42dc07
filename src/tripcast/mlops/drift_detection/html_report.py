"""A self-contained HTML drift report: summary table and reference-vs-current plots per column.

Plots are matplotlib PNGs embedded as base64, so the file opens anywhere without a server
or network access.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from tripcast.mlops.drift_detection.detector import ColumnDrift, DriftReport
from tripcast.mlops.drift_detection.distributions import CategoryCounts, NumericAtoms
from tripcast.mlops.drift_detection.profile import (
    PREDICTION_COLUMN,
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
)

TOP_CATEGORIES = 20


def write_report_files(report: DriftReport, profile: ReferenceProfile, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.html`` under ``directory``; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stem}.json"
    html_path = directory / f"{stem}.html"
    json_path.write_text(report.to_json())
    html_path.write_text(render_html(report, profile))
    return json_path, html_path


def render_html(report: DriftReport, profile: ReferenceProfile) -> str:
    """The whole report as one HTML document."""
    columns = list(report.columns) + ([report.prediction] if report.prediction else [])
    rows = "\n".join(_row(c) for c in columns)
    sections = "\n".join(_section(c, profile) for c in columns)
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    colour = "#b00020" if report.dataset_drift else "#1b5e20"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report: {html.escape(report.spec_name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child {{ text-align: left; }}
.drift {{ color: #b00020; font-weight: bold; }} .ok {{ color: #1b5e20; }}
section {{ display: inline-block; margin: 1rem; vertical-align: top; }}
</style></head><body>
<h1>Drift report: {html.escape(report.spec_name)}</h1>
<p>Dataset verdict: <b style="color:{colour}">{verdict}</b> —
{report.n_drifted} of {len(report.columns)} features drifted (share {report.share_drifted:.2f},
threshold {report.drift_share:.2f}). Reference rows: {report.n_reference:,}; current rows: {report.n_current:,}.
Created {html.escape(report.created_at)}. {html.escape(", ".join(f"{k}={v}" for k, v in report.metadata.items()))}</p>
<table><tr><th>column</th><th>kind</th><th>method</th><th>score</th><th>threshold</th><th>drift</th>
<th>null rate (ref)</th><th>null rate (cur)</th></tr>
{rows}
</table>
{sections}
</body></html>
"""


def _row(column: ColumnDrift) -> str:
    cls, label = ("drift", "DRIFT") if column.drifted else ("ok", "ok")
    return (
        f"<tr><td>{html.escape(column.column)}</td><td>{column.kind.value}</td><td>{column.method.value}</td>"
        f"<td>{column.score:.4g}</td><td>{column.threshold:.4g}</td><td class='{cls}'>{label}</td>"
        f"<td>{column.reference_null_rate:.2%}</td><td>{column.current_null_rate:.2%}</td></tr>"
    )


def _section(column: ColumnDrift, profile: ReferenceProfile) -> str:
    reference = profile.prediction if column.column == PREDICTION_COLUMN else profile.features[column.column]
    png = _plot(column, reference)
    return (
        f"<section><h3>{html.escape(column.column)}</h3>"
        f"<img alt='{html.escape(column.column)} reference vs current' src='data:image/png;base64,{png}'></section>"
    )


def _plot(column: ColumnDrift, reference: NumericProfile | CategoricalProfile | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=80)
    try:
        if isinstance(reference, NumericProfile) and isinstance(column.current, NumericAtoms):
            _numeric_plot(ax, reference.atoms, column.current)
        elif isinstance(reference, CategoricalProfile) and isinstance(column.current, CategoryCounts):
            _categorical_plot(ax, reference.counts, column.current)
        ax.set_title(f"{column.column}: {column.method.value} = {column.score:.3g}", fontsize=9)
        ax.legend(fontsize=8)
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _numeric_plot(ax: object, reference: NumericAtoms, current: NumericAtoms) -> None:
    both = np.concatenate([reference.values, current.values])
    if both.size == 0:
        return
    # Clip the view to the central 99 % so a few outliers do not flatten the histogram.
    lo, hi = np.quantile(reference.values, [0.005, 0.995]) if reference.values.size else (both.min(), both.max())
    if hi <= lo:
        lo, hi = both.min(), both.max() + 1
    edges = np.linspace(lo, hi, 41)
    for atoms, label, colour in ((reference, "reference", "#4c72b0"), (current, "current", "#dd8452")):
        if atoms.n:
            ax.hist(  # type: ignore[attr-defined]
                np.clip(atoms.values, lo, hi), edges, weights=atoms.weights / atoms.weights.sum(),
                alpha=0.55, label=label, color=colour,
            )  # fmt: skip
    ax.set_ylabel("share of rows")  # type: ignore[attr-defined]


def _categorical_plot(ax: object, reference: CategoryCounts, current: CategoryCounts) -> None:
    ref_share = {k: v / reference.n for k, v in reference.counts.items()} if reference.n else {}
    cur_share = {k: v / current.n for k, v in current.counts.items()} if current.n else {}
    keys = sorted(ref_share.keys() | cur_share.keys(), key=lambda k: -max(ref_share.get(k, 0), cur_share.get(k, 0)))
    keys = keys[:TOP_CATEGORIES]
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [ref_share.get(k, 0) for k in keys], 0.4, label="reference", color="#4c72b0")  # type: ignore[attr-defined]
    ax.bar(x + 0.2, [cur_share.get(k, 0) for k in keys], 0.4, label="current", color="#dd8452")  # type: ignore[attr-defined]
    ax.set_xticks(x, [str(k) for k in keys], rotation=90, fontsize=6)  # type: ignore[attr-defined]
    ax.set_ylabel(f"share of rows (top {len(keys)})")  # type: ignore[attr-defined]

"""An experiment's analysis as a self-contained HTML file (inline SVG, no network) and as a JSON-able dict.

The HTML shows the verdict and the rule that decided, the effect and its always-valid interval over the
cumulative looks, each arm's mean with its 95 % interval, the sample ratio check (observed vs expected
units) and the guardrails.
"""

from __future__ import annotations

import dataclasses
import html
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tripcast.core.domain.experiment import AnalysisResult, Verdict
from tripcast.mlops.drift_detection.html_report import svg_bars

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 520, 260, 56, 36, 24
_VERDICT_COLOURS = {
    Verdict.SHIP: "#1b5e20",
    Verdict.KEEP_CHAMPION: "#8d6e00",
    Verdict.CONTINUE: "#1f4e79",
    Verdict.INVALID: "#b00020",
}


def result_to_dict(result: AnalysisResult) -> dict[str, Any]:
    """The result as plain JSON types (``verdict`` as its string; non-finite numbers as None)."""
    return _plain(dataclasses.asdict(result))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_report(result: AnalysisResult, path: Path) -> Path:
    """Write the HTML report to ``path`` (parents created); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result))
    return path


def render_html(result: AnalysisResult) -> str:
    """The whole report as one HTML document."""
    colour = _VERDICT_COLOURS[result.verdict]
    reduction = (
        "" if result.variance_reduction is None else f" CUPED variance reduction: {result.variance_reduction:.1%}."
    )
    fixed = result.fixed_horizon
    fixed_text = (
        f"Fixed-horizon Welch test at the current sample: t = {fixed['t']:.3f}, df = {fixed['df']:.1f}, "
        f"p = {fixed['p']:.3g}, 95 % CI [{fixed['ci_low']:.4g}, {fixed['ci_high']:.4g}]; planned n per arm "
        f"{_count(fixed.get('planned_n'))} ({'reached' if fixed.get('reached_planned_n') else 'not reached'})."
        if fixed
        else ""
    )
    title = html.escape(result.experiment_id)
    control = result.arms[0].arm if result.arms else "control"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Experiment {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child {{ text-align: left; }} .bad {{ color: #b00020; font-weight: bold; }}
section {{ display: inline-block; margin: 1rem; vertical-align: top; }}
</style></head><body>
<h1>Experiment {title}</h1>
<p>Verdict: <b style="color:{colour}">{html.escape(result.verdict.value.upper())}</b> &mdash;
{html.escape(result.rule)}</p>
<p>Effect ({html.escape(result.treatment)} &minus; {html.escape(control)}): <b>{result.effect:.4g}</b>,
always-valid interval [{result.ci_low:.4g}, {result.ci_high:.4g}]{_relative(result)}.{reduction} {fixed_text}
Sequential horizon: {_count(result.sequential_n_per_arm)} control units.
Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>
<section><h3>Effect over time</h3>{effect_svg(result)}</section>
<section><h3>Arm means (95 % intervals)</h3>{arms_svg(result)}</section>
<section><h3>Sample ratio (p = {result.srm_p:.3g})</h3>{_srm_svg(result)}</section>
<h2>Guardrails</h2>{_guardrails_table(result)}
<h2>Arms</h2>{_arms_table(result)}
</body></html>
"""


def _count(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None and math.isfinite(value) else "n/a (too few outcomes to plan)"


def _relative(result: AnalysisResult) -> str:
    return "" if result.relative_effect is None else f" ({result.relative_effect:+.2%} of the control's mean)"


def _scale(lo: float, hi: float, size: float, flip: bool) -> Any:
    span = (hi - lo) or 1.0

    def to_px(value: float) -> float:
        share = (value - lo) / span
        return size * (1 - share) if flip else size * share

    return to_px


def effect_svg(result: AnalysisResult) -> str:
    """The effect (line) and its always-valid interval (band) at each cumulative look, zero dashed."""
    looks = [look for look in result.looks if math.isfinite(look["ci_low"]) and math.isfinite(look["ci_high"])]
    if not looks:
        return "<p>No looks with data in both arms.</p>"
    n = [look["n"] for look in looks]
    lows, highs = [look["ci_low"] for look in looks], [look["ci_high"] for look in looks]
    y_lo, y_hi = min(min(lows), 0.0), max(max(highs), 0.0)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    sx, sy = _scale(0.0, max(n), plot_w, False), _scale(y_lo, y_hi, plot_h, True)

    def point(x: float, y: float) -> str:
        return f"{LEFT + sx(x):.1f},{TOP + sy(y):.1f}"

    band = " ".join(point(x, y) for x, y in zip(n + n[::-1], highs + lows[::-1], strict=True))
    line = " ".join(point(x, look["effect"]) for x, look in zip(n, looks, strict=True))
    zero = TOP + sy(0.0)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' role='img'>"
        "<title>effect and always-valid interval by units analysed</title>"
        f"<polygon points='{band}' fill='#4c72b0' fill-opacity='0.25'/>"
        f"<polyline points='{line}' fill='none' stroke='#4c72b0' stroke-width='2'/>"
        f"<line x1='{LEFT}' y1='{zero:.1f}' x2='{LEFT + plot_w}' y2='{zero:.1f}' stroke='#444' stroke-dasharray='4 3'/>"
        f"<text x='4' y='{TOP + 8}' font-size='10'>{y_hi:.3g}</text>"
        f"<text x='4' y='{TOP + plot_h}' font-size='10'>{y_lo:.3g}</text>"
        f"<text x='{LEFT}' y='{HEIGHT - 8}' font-size='10'>units analysed (both arms), up to {max(n):,.0f}</text>"
        "</svg>"
    )


def arms_svg(result: AnalysisResult) -> str:
    """Each arm's mean (dot) with its 95 % normal interval (bar)."""
    if not result.arms:
        return ""
    halves = [1.96 * math.sqrt(max(a.variance, 0.0) / a.n) if a.n else 0.0 for a in result.arms]
    lo = min(a.mean - h for a, h in zip(result.arms, halves, strict=True))
    hi = max(a.mean + h for a, h in zip(result.arms, halves, strict=True))
    plot_h = HEIGHT - TOP - BOTTOM
    sy = _scale(lo, hi, plot_h, True)
    slot = (WIDTH - LEFT - 10) / len(result.arms)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' role='img'>"]
    parts.append("<title>arm means</title>")
    for i, (arm, half) in enumerate(zip(result.arms, halves, strict=True)):
        x = LEFT + slot * (i + 0.5)
        low, high, mid = TOP + sy(arm.mean - half), TOP + sy(arm.mean + half), TOP + sy(arm.mean)
        parts.append(
            f"<line x1='{x:.1f}' y1='{low:.1f}' x2='{x:.1f}' y2='{high:.1f}' stroke='#dd8452' stroke-width='3'/>"
            f"<circle cx='{x:.1f}' cy='{mid:.1f}' r='5' fill='#4c72b0'>"
            f"<title>{html.escape(arm.arm)}: {arm.mean:.4g} +- {half:.3g} (n={arm.n:,})</title></circle>"
            f"<text x='{x:.1f}' y='{HEIGHT - 8}' font-size='11' text-anchor='middle'>{html.escape(arm.arm)}</text>"
        )
    parts.append(f"<text x='4' y='{TOP + 8}' font-size='10'>{hi:.4g}</text>")
    parts.append(f"<text x='4' y='{TOP + plot_h}' font-size='10'>{lo:.4g}</text></svg>")
    return "".join(parts)


def _srm_svg(result: AnalysisResult) -> str:
    if not result.srm_expected:
        return "<p>Not checked: shadow and canary experiments have no single expected split.</p>"
    names = list(result.srm_expected)
    observed = np.array([float(result.exposed_per_arm.get(name, 0)) for name in names])
    expected = np.array([result.srm_expected[name] for name in names])
    return svg_bars(
        "exposed units per arm", names, observed, expected, legend=("observed", "expected"), value_format=",.0f"
    )


def _guardrails_table(result: AnalysisResult) -> str:
    if not result.guardrails:
        return "<p>No guardrails given.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(g.metric)}</td><td>{html.escape(g.arm)}</td><td>{g.value:.4g}</td><td>{g.limit:.4g}</td>"
        f"<td class='{'' if g.ok else 'bad'}'>{_held(g.ok, g.value)}</td></tr>"
        for g in result.guardrails
    )
    return f"<table><tr><th>metric</th><th>arm</th><th>value</th><th>limit</th><th>held</th></tr>{rows}</table>"


def _held(ok: bool, value: float) -> str:
    if math.isnan(value):
        return "not measured"
    return "ok" if ok else "FAILED"


def _arms_table(result: AnalysisResult) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a.arm)}</td><td>{a.n:,}</td><td>{result.exposed_per_arm.get(a.arm, a.n):,}</td>"
        f"<td>{a.mean:.4g}</td><td>{math.sqrt(max(a.variance, 0.0)):.4g}</td></tr>"
        for a in result.arms
    )
    return f"<table><tr><th>arm</th><th>n with outcome</th><th>exposed</th><th>mean</th><th>sd</th></tr>{rows}</table>"

"""The experiments statistics engine: SRM, CUPED, always-valid sequential inference, Welch, Holm, verdict,
and its HTML/JSON report. Domain-free: any model, any numeric outcome."""

from tripcast.mlops.ab_testing.analysis.engine import StatsEngine
from tripcast.mlops.ab_testing.analysis.report import render_html, result_to_dict, write_report

__all__ = ["StatsEngine", "render_html", "result_to_dict", "write_report"]

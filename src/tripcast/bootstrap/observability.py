"""Wiring of the observability area (``tc.observability``): SLOs from their spec, read back from Prometheus;
Grafana dashboards as code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tripcast.core.services.slo import SloReporting

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast


@dataclass
class ObservabilityServices:
    """``tripcast slo``: validate the spec, generate its rules, report the error budgets; ``tripcast dashboards``."""

    root: Tripcast

    @cached_property
    def slo_reporting(self) -> SloReporting:
        """Budgets and burn rates as Prometheus recorded them (``tripcast slo report``)."""
        from tripcast.observability.slo.prometheus import PrometheusSloMetrics
        from tripcast.observability.slo.spec import SpecSloCatalog

        settings = self.root.settings
        return SloReporting(
            catalog=SpecSloCatalog(settings.slo_spec_file), metrics=PrometheusSloMetrics(settings.prometheus_url)
        )

    def slo_objectives(self, spec_file: Path | None = None) -> list[str]:
        """The names of the spec's objectives, once it validates (InvalidInputError names each bad field)."""
        from tripcast.observability.slo.spec import load_slo_spec

        return [slo.name for slo in load_slo_spec(spec_file or self.root.settings.slo_spec_file).slos]

    def slo_rules(self, spec_file: Path | None = None) -> str:
        """The multi-window multi-burn-rate recording and alert rules of the spec (a Prometheus rule file)."""
        from tripcast.observability.slo.rules import render_slo_rules
        from tripcast.observability.slo.spec import load_slo_spec

        return render_slo_rules(load_slo_spec(spec_file or self.root.settings.slo_spec_file))

    def dashboards(self) -> dict[str, str]:
        """Grafana dashboards (serving, model, data, SLOs) as JSON, by file name."""
        from tripcast.observability.dashboards.build import render_dashboards

        return render_dashboards()

"""``tripcast slo report``: error budget left and burn rates of every objective, as the monitoring system sees them.

The firing logic lives in one place, the generated Prometheus alert rules; this report reads what they
recorded and whether they fire, and computes nothing a rule could disagree with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tripcast.core.ports.slo import SloCatalog, SloMetrics, SloObjective

#: Windows whose burn rates the report shows: the short and long windows of the page and ticket alerts.
BURN_RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True, slots=True)
class SloStatus:
    """One objective's state: error ratio over its period, budget left, burn rate per window, alerts firing."""

    name: str
    service: str
    objective: float
    period_days: int
    period_error_ratio: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    firing: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``page``/``ticket`` when such an alert fires, ``no data`` without records, else ``ok``."""
        for severity in ("page", "ticket"):
            if severity in self.firing:
                return severity
        return "no data" if self.period_error_ratio is None else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


class SloReporting:
    """Reads every objective's recorded error ratios and firing alerts."""

    def __init__(self, *, catalog: SloCatalog, metrics: SloMetrics) -> None:
        self.catalog = catalog
        self.metrics = metrics

    def report(self) -> list[SloStatus]:
        """The status of every objective in the catalog."""
        return [self._status(objective) for objective in self.catalog.objectives()]

    def _status(self, objective: SloObjective) -> SloStatus:
        period_ratio = self.metrics.error_ratio(objective, f"{objective.period_days}d")
        burn_rates = {
            window: _burn_rate(self.metrics.error_ratio(objective, window), objective) for window in BURN_RATE_WINDOWS
        }
        remaining = None if period_ratio is None else 1.0 - period_ratio / objective.error_budget
        return SloStatus(
            name=objective.name,
            service=objective.service,
            objective=objective.objective,
            period_days=objective.period_days,
            period_error_ratio=period_ratio,
            budget_remaining=remaining,
            burn_rates=burn_rates,
            firing=self.metrics.firing(objective),
        )


def _burn_rate(error_ratio: float | None, objective: SloObjective) -> float | None:
    """How many times faster than the objective allows the budget burns (1 = exactly on budget)."""
    return None if error_ratio is None else error_ratio / objective.error_budget

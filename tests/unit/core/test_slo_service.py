"""SloReporting over fake ports: budget left and burn rates come from the recorded ratios, state from firing alerts."""

from __future__ import annotations

import pytest

from tripcast.core.ports.slo import SloCatalog, SloMetrics, SloObjective
from tripcast.core.services.slo import BURN_RATE_WINDOWS, SloReporting

AVAILABILITY = SloObjective("tripcast", "availability", 0.999, 30)
LATENCY = SloObjective("tripcast", "latency", 0.99, 30)


class FakeCatalog(SloCatalog):
    def objectives(self) -> list[SloObjective]:
        return [AVAILABILITY, LATENCY]


class FakeMetrics(SloMetrics):
    def __init__(self, ratios: dict[tuple[str, str], float], firing: dict[str, list[str]]) -> None:
        self.ratios = ratios
        self.firing_by_slo = firing

    def error_ratio(self, objective: SloObjective, window: str) -> float | None:
        return self.ratios.get((objective.name, window))

    def firing(self, objective: SloObjective) -> list[str]:
        return self.firing_by_slo.get(objective.name, [])


def test_budget_left_and_burn_rates_follow_the_recorded_error_ratios() -> None:
    ratios = {("availability", "30d"): 0.0004, ("availability", "5m"): 0.0144, ("availability", "1h"): 0.002}
    availability, latency = SloReporting(catalog=FakeCatalog(), metrics=FakeMetrics(ratios, {})).report()

    assert availability.budget_remaining == pytest.approx(0.6)  # 0.04 % of a 0.1 % budget spent
    assert availability.burn_rates["5m"] == pytest.approx(14.4) and availability.burn_rates["1h"] == pytest.approx(2.0)
    assert availability.burn_rates["3d"] is None and set(availability.burn_rates) == set(BURN_RATE_WINDOWS)
    assert availability.state == "ok"
    assert latency.period_error_ratio is None and latency.budget_remaining is None and latency.state == "no data"


def test_the_state_is_what_the_alert_rules_fire_page_before_ticket() -> None:
    ratios = {("availability", "30d"): 0.002, ("latency", "30d"): 0.0}
    metrics = FakeMetrics(ratios, {"availability": ["page", "ticket"], "latency": ["ticket"]})
    availability, latency = SloReporting(catalog=FakeCatalog(), metrics=metrics).report()

    assert availability.state == "page" and availability.budget_remaining == pytest.approx(-1.0)  # overspent
    assert latency.state == "ticket" and latency.to_dict()["state"] == "ticket"

"""Service level objectives as the core sees them: a catalog of objectives and the measured error ratios."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SloObjective:
    """One objective: ``objective`` is the target ratio of good events (0.999), over ``period_days``."""

    service: str
    name: str
    objective: float
    period_days: int
    description: str = ""

    @property
    def error_budget(self) -> float:
        """The ratio of bad events the objective allows (0.001 for 99.9 %)."""
        return 1.0 - self.objective


class SloCatalog(ABC):
    """Where the objectives are defined (a spec file)."""

    @abstractmethod
    def objectives(self) -> list[SloObjective]:
        """Every objective, in the order defined."""


class SloMetrics(ABC):
    """The monitoring system that records each objective's error ratio and evaluates its burn-rate alerts."""

    @abstractmethod
    def error_ratio(self, objective: SloObjective, window: str) -> float | None:
        """The recorded error ratio over ``window`` (``5m`` ... ``30d``); None when nothing is recorded."""

    @abstractmethod
    def firing(self, objective: SloObjective) -> list[str]:
        """Severities (``page``, ``ticket``) of the objective's burn-rate alerts firing now."""

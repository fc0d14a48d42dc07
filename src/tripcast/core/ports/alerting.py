"""Alerts as the core sees them: what fires (and what is muted), silences, and alerts a job raises itself.

The firing logic lives in Prometheus rules; routing, grouping, inhibition and silences in the alert manager
behind :class:`AlertGateway` (Prometheus Alertmanager in the shipped adapter).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An alert the manager holds now; ``state`` is ``active`` or ``suppressed`` (silenced or inhibited)."""

    fingerprint: str
    name: str
    severity: str
    state: str
    labels: dict[str, str]
    summary: str
    starts_at: datetime
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """An alert a job raises itself (a guardrail's rollback, say), not computed from a metric."""

    name: str
    severity: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)


class AlertGateway(ABC):
    """The alert manager: receives alerts, lists them, silences them."""

    @abstractmethod
    def alerts(self) -> list[ActiveAlert]:
        """Every alert held now, newest first."""

    @abstractmethod
    def silence(self, matchers: Mapping[str, str], *, until: datetime, created_by: str, comment: str) -> str:
        """Mute alerts whose labels equal ``matchers`` until ``until``; the silence's id."""

    @abstractmethod
    def send(self, notices: Sequence[AlertNotice]) -> None:
        """Raise ``notices`` (routed, grouped and inhibited like rule alerts)."""

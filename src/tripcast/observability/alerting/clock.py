"""The wall clock, for the monitoring job (tests inject their own :class:`Clock`)."""

from __future__ import annotations

from datetime import UTC, datetime

from tripcast.core.ports.clock import Clock


class UtcClock(Clock):
    """Current UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

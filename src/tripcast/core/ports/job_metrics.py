"""What a batch job reports when it ends, for monitoring (a Pushgateway in the shipped adapter)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a batch job: which, for what (``grouping``, e.g. the month), how it ended, how long, counts."""

    job: str
    grouping: dict[str, str]
    succeeded: bool
    finished_at: datetime
    seconds: float
    counts: dict[str, float] = field(default_factory=dict)


class JobMetrics(ABC):
    """Where job runs are published; publishing never fails the job (an adapter logs what it could not send)."""

    @abstractmethod
    def record(self, run: JobRun) -> None:
        """Publish ``run``."""

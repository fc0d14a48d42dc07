"""The monthly data pipeline as a port: what driving adapters (CLI, Airflow tasks, Spark entry) call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tripcast.core.domain.month import Month


@dataclass(frozen=True)
class StepReport:
    """One step of one run: whether it ran or was skipped, how long it took, what it produced."""

    name: str
    skipped: bool
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineReport:
    """The result of one pipeline run."""

    month: Month
    engine: str
    steps: list[StepReport]
    manifest_path: str

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def step(self, name: str) -> StepReport:
        return next(s for s in self.steps if s.name == name)


class MonthlyPipeline(Protocol):
    """ingest -> validate -> transform -> quality -> export for one month, resumable."""

    def run(
        self,
        month: Month | str,
        *,
        engine: str | None = None,
        force: bool = False,
        stop_after: str | None = None,
        spark: Any = None,
        show_progress: bool = False,
        actor: str = "tripcast",
    ) -> PipelineReport:
        """Run every step (up to ``stop_after``); complete steps are skipped unless ``force``.

        Bad arguments are an ``InvalidInputError`` naming the field; a concurrent run of the
        same month a ``LockHeldError``; a failed quality gate a ``TripcastError``.
        """
        ...


class DataCatalog(Protocol):
    """The machine-readable schemas and the data dictionary of Tripcast's datasets."""

    def write(self, directory: Path | None = None) -> list[Path]:
        """Write every catalog file under ``directory`` (default: the configured one); return their paths."""
        ...

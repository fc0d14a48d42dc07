"""The monthly data pipeline as a port: what driving adapters (CLI, Airflow tasks, Spark entry) call,
and what the pipeline and validation left behind, read back per month (the web console's Data page)."""

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


@dataclass(frozen=True)
class StepRun:
    """A step as the month's last pipeline run left it (its manifest)."""

    name: str
    status: str  # "running" | "complete" | "failed"
    seconds: float = 0.0
    finished_at: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class MonthDataRecord:
    """What is known of one month's data: its pipeline run, its row counts, its quarantine and quality.

    ``rows_*`` and ``reasons`` come from the quality report when there is one, else the pipeline's
    validate step, else the processed and quarantine files a plain ``tripcast validate`` wrote;
    ``sources`` names which of those were read. A row with several reasons counts for each.
    """

    month: str
    service: str
    steps: list[StepRun] = field(default_factory=list)
    rows_in: int | None = None
    rows_valid: int | None = None
    rows_quarantined: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    quality_status: str | None = None  # "pass" | "warn" | "fail"; None without a quality report
    failed_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def run_status(self) -> str | None:
        """``failed`` / ``running`` when a step is, ``complete`` when all are, None without a run."""
        statuses = {step.status for step in self.steps}
        if not statuses:
            return None
        return next((s for s in ("failed", "running") if s in statuses), "complete")


class DataRunHistory(Protocol):
    """Reads what the pipeline and validation wrote, one record per month (read-only)."""

    def months(self) -> list[MonthDataRecord]:
        """Every month with a manifest, a quality report or validated files, oldest first."""
        ...

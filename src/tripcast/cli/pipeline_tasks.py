"""One callable per pipeline step, for orchestrators (Airflow, cron, Argo) that run steps as separate tasks.

Each task bootstraps, then runs the pipeline *up to* its step: earlier steps are skipped
through the run manifest because the previous tasks completed them, so a task retried by
the scheduler redoes only its own work. Each returns a small JSON-serialisable summary (for XCom).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripcast.bootstrap import bootstrap, load_settings


def run_step(step: str, month: str, engine: str | None = None, source_dir: str | None = None) -> dict[str, Any]:
    """Run the pipeline for ``month`` up to and including ``step``; return that step's summary."""
    tc = bootstrap(load_settings(), local_source=Path(source_dir) if source_dir else None, allow_download=False)
    report = tc.data.pipeline.run(month, engine=engine, stop_after=step, actor="airflow")
    done = report.step(step)
    return {
        "step": step,
        "month": str(report.month),
        "skipped": done.skipped,
        "seconds": round(done.seconds, 3),
        "rows": done.rows,
    }


def ingest(month: str, **kwargs: Any) -> dict[str, Any]:
    """Locate the month's TLC file."""
    return run_step("ingest", month, **kwargs)


def validate(month: str, **kwargs: Any) -> dict[str, Any]:
    """Split the month into processed and quarantined trips."""
    return run_step("validate", month, **kwargs)


def transform(month: str, **kwargs: Any) -> dict[str, Any]:
    """Build enriched trips and zone features on the configured engine."""
    return run_step("transform", month, **kwargs)


def quality(month: str, **kwargs: Any) -> dict[str, Any]:
    """Run the quality checks; fails the task when a ``fail`` check fails."""
    return run_step("quality", month, **kwargs)


def export(month: str, **kwargs: Any) -> dict[str, Any]:
    """Deliver the features to the configured sinks."""
    return run_step("export", month, **kwargs)

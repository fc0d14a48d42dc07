"""Run the monthly pipeline the way the CLI does: bootstrap with a local source, then call the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripcast.bootstrap import bootstrap
from tripcast.core.domain.month import Month
from tripcast.core.ports.pipeline import PipelineReport
from tripcast.settings import Settings


def run_pipeline(
    month: Month | str,
    settings: Settings,
    engine: str | None = None,
    *,
    source_dir: Path | None = None,
    force: bool = False,
    stop_after: str | None = None,
    spark: Any = None,
) -> PipelineReport:
    """``tc.data.pipeline.run`` on a root wired like ``tripcast pipeline run --source DIR --no-download``."""
    tc = bootstrap(settings, local_source=source_dir, allow_download=False)
    return tc.data.pipeline.run(month, engine=engine, force=force, stop_after=stop_after, spark=spark, actor="test")

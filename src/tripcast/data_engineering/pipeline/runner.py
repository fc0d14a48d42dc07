"""``run_pipeline``: ingest -> validate -> transform -> quality -> export for one month, resumable.

Every step declares a *fingerprint* of what it depends on (the raw file's sha256,
chained through the steps). The manifest skips a step whose fingerprint and outputs
are unchanged, so a rerun is cheap and a run that died half-way resumes at the step
that failed. Outputs are written to temporary paths and renamed into place, and every
output is sorted, so reruns produce the same bytes of data.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tripcast.core.domain.month import Month
from tripcast.core.ports.locks import Locks, month_lock
from tripcast.data_engineering.lineage import DatasetRef, LineageEmitter, lineage_emitter
from tripcast.data_engineering.pipeline.layout import Layout
from tripcast.data_engineering.pipeline.manifest import Manifest, StepRecord
from tripcast.data_engineering.pipeline.steps import STEPS, RunContext, StepResult
from tripcast.settings import Settings


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
    """The result of :func:`run_pipeline`."""

    month: Month
    engine: str
    steps: list[StepReport]
    manifest_path: str

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def step(self, name: str) -> StepReport:
        return next(s for s in self.steps if s.name == name)


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def run_pipeline(
    month: Month | str,
    settings: Settings,
    engine: str | None = None,
    *,
    source_dir: Path | None = None,
    allow_download: bool = False,
    console: Console | None = None,
    spark: Any = None,
    force: bool = False,
    lineage: LineageEmitter | None = None,
    stop_after: str | None = None,
    locks: Locks | None = None,
) -> PipelineReport:
    """Run every step for ``month`` on ``engine`` (``duckdb`` or ``spark``; default from settings).

    ``force`` reruns complete steps; ``stop_after`` ends the run after the named step.
    Raises :class:`~tripcast.core.domain.errors.TripcastError` subclasses for bad input,
    missing data or a failed quality gate; the manifest records the failed step.
    The whole run holds the month's lock (``locks``; default: file locks under
    ``<data_dir>/locks``), shared with ``tripcast validate``: a concurrent run of the same
    month raises :class:`~tripcast.core.ports.locks.LockHeldError` before touching anything.
    """
    month = Month.parse(month) if isinstance(month, str) else month
    layout = Layout.from_settings(settings)
    if locks is None:
        from tripcast.security.locks import FileLocks

        locks = FileLocks(layout.data_dir / "locks")
    with locks.hold(month_lock(settings.service, month), f"tripcast pipeline run {month}"):
        return _run_locked(
            month, settings, layout, engine, source_dir, allow_download, console, spark, force, lineage, stop_after
        )


def _run_locked(
    month: Month,
    settings: Settings,
    layout: Layout,
    engine: str | None,
    source_dir: Path | None,
    allow_download: bool,
    console: Console | None,
    spark: Any,
    force: bool,
    lineage: LineageEmitter | None,
    stop_after: str | None,
) -> PipelineReport:
    ctx = RunContext(
        month=month,
        settings=settings,
        layout=layout,
        engine_name=engine or settings.pipeline_engine,
        source_dir=source_dir,
        allow_download=allow_download,
        spark=spark,
    )
    ctx.check()
    manifest = Manifest.load(layout.manifest(month))
    emitter = lineage or lineage_emitter(layout.lineage_dir, settings.lineage_url)
    reports: list[StepReport] = []
    upstream = ""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console or Console(quiet=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(f"{month} on {ctx.engine_name}", total=len(STEPS))
        for step in STEPS:
            progress.update(task, description=f"{month} on {ctx.engine_name}: {step.name}")
            fingerprint = _fingerprint(upstream, step.name, step.fingerprint(ctx))
            upstream = fingerprint
            if not force and manifest.is_complete(step.name, fingerprint):
                record = manifest.steps[step.name]
                ctx.outputs[step.name] = dict(record.outputs)
                reports.append(StepReport(step.name, True, 0.0, record.rows, record.outputs, record.details))
            else:
                reports.append(_run_step(step, ctx, manifest, fingerprint, emitter))
            progress.advance(task)
            if stop_after == step.name:
                break
    return PipelineReport(month, ctx.engine_name, reports, str(manifest.path))


def _run_step(step: Any, ctx: RunContext, manifest: Manifest, fingerprint: str, emitter: LineageEmitter) -> StepReport:
    job = f"tripcast.pipeline.{step.name}"
    inputs = [DatasetRef.from_path(p) for p in step.inputs(ctx) if Path(p).exists()]
    run_id = emitter.start(job, inputs)
    manifest.record(step.name, StepRecord(status="running", fingerprint=fingerprint))
    started = time.perf_counter()
    try:
        result: StepResult = step.run(ctx)
    except BaseException as exc:
        seconds = time.perf_counter() - started
        manifest.record(
            step.name,
            StepRecord(
                status="failed", fingerprint=fingerprint, seconds=seconds, error=str(exc)[:2000], finished_at=_now()
            ),
        )
        emitter.fail(job, run_id, inputs, exc)
        raise
    seconds = time.perf_counter() - started
    ctx.outputs[step.name] = dict(result.outputs)
    manifest.record(
        step.name,
        StepRecord(
            status="complete",
            fingerprint=fingerprint,
            outputs=result.outputs,
            rows=result.rows,
            seconds=round(seconds, 3),
            finished_at=_now(),
            details=result.details,
        ),
    )
    outputs = [_dataset(p) for p in result.outputs.values()]
    emitter.complete(job, run_id, [DatasetRef.from_path(p) for p in result.inputs if Path(p).exists()], outputs)
    return StepReport(step.name, False, seconds, result.rows, result.outputs, result.details)


def _dataset(location: str) -> DatasetRef:
    if "://" in location:
        namespace, _, name = location.partition("://")
        return DatasetRef(namespace, name)
    return DatasetRef.from_path(location)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


StepFunction = Callable[[RunContext], StepResult]

"""``PipelineRunner``: ingest -> validate -> transform -> quality -> export for one month, resumable.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import MonthDatasetStore, TripFileSource
from tripcast.core.ports.locks import Locks, month_lock
from tripcast.core.ports.pipeline import MonthlyPipeline, PipelineReport, StepReport
from tripcast.core.ports.tracing import NO_TRACING, AttributeValue, Tracer
from tripcast.core.services.validation import Validation
from tripcast.data_engineering.lineage import DatasetRef, LineageEmitter, lineage_emitter
from tripcast.data_engineering.pipeline.config import PipelineRequest
from tripcast.data_engineering.pipeline.layout import Layout
from tripcast.data_engineering.pipeline.manifest import Manifest, StepRecord
from tripcast.data_engineering.pipeline.steps import STEPS, RunContext, StepResult
from tripcast.settings import Settings


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class PipelineRunner(MonthlyPipeline):
    """Runs the steps for a month with the collaborators the composition root gives it.

    The whole run holds the month's lock, shared with ``tripcast validate``: a concurrent
    run of the same month raises :class:`~tripcast.core.ports.locks.LockHeldError` before
    touching anything. The validate step calls the :class:`Validation` service, so it
    validates batch-wise and records ``dataset.validated`` like ``tripcast validate``.

    With a tracer, a run is one ``tripcast.pipeline.run`` span with a child per step
    (``tripcast.pipeline.<step>``: ``tripcast.rows.<kind>`` counts, ``tripcast.step.skipped``).
    """

    def __init__(
        self,
        settings: Settings,
        source: TripFileSource,
        store: MonthDatasetStore,
        validation: Validation,
        locks: Locks,
        lineage: LineageEmitter | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self._settings = settings
        self._source = source
        self._store = store
        self._validation = validation
        self._locks = locks
        self._lineage = lineage
        self._tracer = tracer

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
        """Run every step for ``month`` (see :class:`MonthlyPipeline`)."""
        request = PipelineRequest.parse(
            month, engine or self._settings.pipeline_engine, force=force, stop_after=stop_after
        )
        ctx = RunContext(
            month=request.month_value,
            settings=self._settings,
            layout=Layout.from_settings(self._settings),
            engine_name=request.engine,
            source=self._source,
            store=self._store,
            validation=self._validation,
            actor=actor,
            spark=spark,
        )
        lock = month_lock(self._settings.service, ctx.month)
        attributes: dict[str, AttributeValue] = {
            "tripcast.month": str(ctx.month),
            "tripcast.engine": ctx.engine_name,
            "tripcast.forced": force,
        }
        with (
            self._tracer.span("tripcast.pipeline.run", attributes),
            self._locks.hold(lock, f"tripcast pipeline run {ctx.month}"),
        ):
            return self._run_locked(ctx, request, Console(quiet=not show_progress))

    def _run_locked(self, ctx: RunContext, request: PipelineRequest, console: Console) -> PipelineReport:
        manifest = Manifest.load(ctx.layout.manifest(ctx.month))
        emitter = self._lineage or lineage_emitter(ctx.layout.lineage_dir, self._settings.lineage_url)
        reports: list[StepReport] = []
        upstream = ""
        with _progress(console) as progress:
            task = progress.add_task(f"{ctx.month} on {ctx.engine_name}", total=len(STEPS))
            for step in STEPS:
                progress.update(task, description=f"{ctx.month} on {ctx.engine_name}: {step.name}")
                with self._tracer.span(f"tripcast.pipeline.{step.name}") as span:
                    fingerprint = _fingerprint(upstream, step.name, step.fingerprint(ctx))
                    upstream = fingerprint
                    if not request.force and manifest.is_complete(step.name, fingerprint):
                        record = manifest.steps[step.name]
                        ctx.outputs[step.name] = dict(record.outputs)
                        reports.append(StepReport(step.name, True, 0.0, record.rows, record.outputs, record.details))
                    else:
                        reports.append(_run_step(step, ctx, manifest, fingerprint, emitter))
                    span.set_attribute("tripcast.step.skipped", reports[-1].skipped)
                    for kind, rows in reports[-1].rows.items():
                        span.set_attribute(f"tripcast.rows.{kind}", rows)
                progress.advance(task)
                if request.stop_after == step.name:
                    break
        return PipelineReport(ctx.month, ctx.engine_name, reports, str(manifest.path))


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


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

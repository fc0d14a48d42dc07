"""The pipeline steps. Each one reads what earlier steps wrote, so any step can be resumed on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import MonthDatasetStore, TripFileSource
from tripcast.core.services.validation import Validation
from tripcast.data_engineering.pipeline.layout import FEATURE_TABLES, Layout
from tripcast.data_engineering.pipeline.memory import release_freed_memory
from tripcast.data_engineering.tlc.download import file_sha256
from tripcast.data_engineering.transformation import ParquetOutput, aggregate_splits, open_engine, transform_trips
from tripcast.settings import Settings


@dataclass
class RunContext:
    """Everything a step needs; ``outputs`` collects what earlier steps produced in this run."""

    month: Month
    settings: Settings
    layout: Layout
    engine_name: str
    source: TripFileSource
    store: MonthDatasetStore
    validation: Validation
    actor: str = "tripcast"
    spark: Any = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """What a step read and wrote, with row counts and free-form details for the report."""

    inputs: list[str]
    outputs: dict[str, str]
    rows: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A named step: what it depends on (fingerprint), what it reads (for lineage), and its work."""

    name: str
    fingerprint: Callable[[RunContext], str]
    inputs: Callable[[RunContext], list[str]]
    run: Callable[[RunContext], StepResult]


def parquet_rows(path: str | Path) -> int:
    """Rows in a parquet file or folder, from the footers only."""
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_"))]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


# --- ingest -----------------------------------------------------------------------------------


def _raw_path(ctx: RunContext) -> Path:
    return Path(ctx.source.fetch(ctx.month))


def _ingest(ctx: RunContext) -> StepResult:
    path = _raw_path(ctx)
    rows = {"raw": parquet_rows(path)} if path.suffix == ".parquet" else {}
    return StepResult([str(path)], {"raw": str(path)}, rows, {"sha256": file_sha256(path)})


def _ingest_fingerprint(ctx: RunContext) -> str:
    # The raw file's content decides everything downstream; a reissued TLC month reruns all steps.
    return file_sha256(_raw_path(ctx))


# --- validate ---------------------------------------------------------------------------------


def _validate(ctx: RunContext) -> StepResult:
    report = ctx.validation.validate(ctx.month, actor=ctx.actor)
    release_freed_memory()  # the batches are gone; give their pages back before the engine's transform
    return StepResult(
        [report.source],
        {"processed": report.processed_path, "quarantine": report.quarantine_path},
        {"input": report.n_input, "valid": report.n_valid, "quarantined": report.n_quarantined},
        {"reasons": report.reasons},
    )


# --- transform --------------------------------------------------------------------------------


def _lookback_path(ctx: RunContext) -> Path | None:
    path = ctx.store.processed_path(ctx.month.previous())
    return path if path.is_file() else None


def _transform_fingerprint(ctx: RunContext) -> str:
    lookback = _lookback_path(ctx)
    return file_sha256(lookback) if lookback is not None else "no-lookback"


def _transform(ctx: RunContext) -> StepResult:
    processed = ctx.store.processed_path(ctx.month)
    lookback = _lookback_path(ctx)
    with open_engine(ctx.engine_name, spark=ctx.spark) as engine:
        previous = engine.read_parquet(lookback) if lookback is not None else None
        result = transform_trips(
            engine.read_parquet(processed),
            ctx.month,
            lookback=previous,
            zone_table=engine.zone_table(),  # same files; cheaper join and write of the zone names
            materialize=engine.materialize,
        )
        tables = {"trips_enriched": result.trips, "zone_hour": result.zone_hour, "zone_pair": result.zone_pair}
        # Zone aggregates keep one group state per key: write big months in pickup-zone ranges to bound memory.
        splits = aggregate_splits(parquet_rows(processed))
        written = engine.write_outputs(
            [
                ParquetOutput(
                    tables[name],
                    ctx.layout.feature_partition(name, ctx.month),
                    split_by="pickup_zone" if name in splits else None,
                    splits=splits.get(name, 1),
                )
                for name in FEATURE_TABLES
            ]
        )
        outputs = {name: str(path) for name, path in zip(FEATURE_TABLES, written, strict=True)}
    inputs = [str(processed)] + ([str(lookback)] if lookback else [])
    rows = {name: parquet_rows(path) for name, path in outputs.items()}
    return StepResult(inputs, outputs, rows, {"engine": ctx.engine_name, "lookback": bool(lookback)})


# --- quality ----------------------------------------------------------------------------------


def _quality(ctx: RunContext) -> StepResult:
    from tripcast.data_engineering.quality import QualityGateError, run_month_quality

    outcome = run_month_quality(ctx.month, ctx.settings, ctx.store, ctx.layout)
    outputs = {"report_json": str(outcome.json_path), "report_html": str(outcome.html_path)}
    if outcome.metrics_path is not None:
        outputs["metrics"] = str(outcome.metrics_path)
    details = {"failed": outcome.report.failed_checks, "warnings": outcome.report.warned_checks}
    if outcome.report.failed_checks:
        raise QualityGateError(ctx.month, outcome.report.failed_checks, outcome.json_path)
    inputs = [str(ctx.store.processed_path(ctx.month)), str(ctx.store.quarantine_path(ctx.month))]
    return StepResult(inputs, outputs, {"checks": len(outcome.report.checks)}, details)


# --- export -----------------------------------------------------------------------------------


def _export_fingerprint(ctx: RunContext) -> str:
    return f"pg={bool(ctx.settings.export_postgres_url)}|http={ctx.settings.export_http_url or ''}"


def _export(ctx: RunContext) -> StepResult:
    from tripcast.data_engineering.export import export_features

    partitions = {name: ctx.layout.feature_partition(name, ctx.month) for name in ("zone_hour", "zone_pair")}
    frames = {name: pd.read_parquet(path) for name, path in partitions.items()}
    sent = export_features(frames, ctx.settings, service=ctx.settings.service, month=ctx.month)
    return StepResult(
        [str(p) for p in partitions.values()],
        {name: str(path) for name, path in partitions.items()},
        {f"{sink}:{table}": n for (sink, table), n in sent.items()},
        {"sinks": sorted({sink for sink, _ in sent}) or ["parquet"]},
    )


STEPS: tuple[Step, ...] = (
    Step("ingest", _ingest_fingerprint, lambda ctx: [], _ingest),
    Step("validate", lambda ctx: "pandera-v1", lambda ctx: [ctx.outputs.get("ingest", {}).get("raw", "")], _validate),
    Step(
        "transform",
        _transform_fingerprint,
        lambda ctx: [str(ctx.store.processed_path(ctx.month))],
        _transform,
    ),
    Step("quality", lambda ctx: "quality-v1", lambda ctx: [str(ctx.store.processed_path(ctx.month))], _quality),
    Step(
        "export",
        _export_fingerprint,
        lambda ctx: [str(ctx.layout.feature_partition("zone_hour", ctx.month))],
        _export,
    ),
)

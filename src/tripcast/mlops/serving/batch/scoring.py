"""Score trip files with a loaded predictor, wiring the file adapters to the core's batch scorer.

Every input row ends up in exactly one of the two outputs: the scored file (with its predicted minutes,
the model name and version) or the quarantine file (with the reasons it was refused), each carrying the
row's position in its source file so nothing is silently dropped and everything can be traced back.
The ``tripcast score`` command goes through :class:`tripcast.core.services.batch_scoring.BatchScoring`
(wired in ``tripcast.bootstrap.scoring``); :func:`score_file` is the same pipeline for a predictor in hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tripcast.core.ports.batch_scoring import ColumnFeatureBuilder, ScoringProgress
from tripcast.core.ports.learning import Predictor
from tripcast.core.services.batch_scoring import BatchScorer, ScoreReport
from tripcast.mlops.serving.batch.checks import ArrowBatchChecker, request_problems
from tripcast.mlops.serving.batch.outputs import ParquetScoredSink
from tripcast.mlops.serving.batch.schema import (
    QUARANTINE_SCHEMA,
    REASON_COLUMN,
    REQUEST_FIELDS,
    REQUIRED_FIELDS,
    SCORED_SCHEMA,
)
from tripcast.mlops.serving.batch.sources import FileScoringSource

__all__ = [
    "QUARANTINE_SCHEMA",
    "REASON_COLUMN",
    "REQUEST_FIELDS",
    "REQUIRED_FIELDS",
    "SCORED_SCHEMA",
    "ScoreReport",
    "batch_scorer",
    "plan_outputs",
    "request_problems",
    "score_file",
]


def batch_scorer(features: ColumnFeatureBuilder, column_aliases: Mapping[str, str] | None = None) -> BatchScorer:
    """The core's batch scorer over parquet/CSV files, Arrow checks and parquet outputs.

    ``features`` must build the inputs of the predictors it will serve (the spine builder
    ``TripFeatureBuilder`` for ``TRIP_DURATION_SPEC`` models).
    """
    return BatchScorer(
        source=FileScoringSource(column_aliases),
        checker=ArrowBatchChecker(),
        features=features,
        sink=ParquetScoredSink(),
    )


def plan_outputs(
    input_path: str | Path, output: str | Path, quarantine: str | Path | None = None
) -> tuple[list[Path], Path, Path]:
    """The input files and both output paths; refuses outputs that would overwrite an input, and
    parquet inputs whose footer cannot be read (truncated or corrupt)."""
    plan = FileScoringSource().plan(Path(input_path), Path(output), Path(quarantine) if quarantine else None)
    return list(plan.files), plan.output, plan.quarantine


def score_file(
    input_path: str | Path,
    output: str | Path,
    predictor: Predictor,
    *,
    features: ColumnFeatureBuilder,
    quarantine: str | Path | None = None,
    column_aliases: Mapping[str, str] | None = None,
    chunk_rows: int = 50_000,
    progress: ScoringProgress | None = None,
) -> ScoreReport:
    """Score a file or a directory of parquet/CSV trip files into ``output`` (parquet).

    ``features`` builds the predictor's inputs from columns (see :func:`batch_scorer`);
    ``column_aliases`` renames source columns to request fields (e.g. ``PULocationID`` -> ``pickup_zone``).
    Rows breaking the trip rules go to ``quarantine`` (default ``<output stem>.quarantine.parquet``).
    Memory stays bounded by ``chunk_rows`` whatever the input size. Outputs that would overwrite an
    input are refused; both outputs appear under their names only when complete (see :mod:`.outputs`),
    so a crash leaves the previous files, and the inputs, as they were.
    """
    scorer = batch_scorer(features, column_aliases)
    plan = scorer.source.plan(Path(input_path), Path(output), Path(quarantine) if quarantine is not None else None)
    return scorer.run(predictor, plan, chunk_rows, progress)

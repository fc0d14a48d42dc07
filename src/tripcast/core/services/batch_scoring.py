"""Batch scoring: every input row ends up either scored (with the model version) or quarantined (with reasons).

One pass per batch: check the trip rules over the whole batch, build the features of the valid rows
from their columns, one ``predict_features`` call, one write. The run's books must balance
(``input == scored + quarantined``) and the run is recorded in the audit trail as ``batch.scored``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.batch_scoring import (
    BatchChecker,
    CheckedBatch,
    ColumnFeatureBuilder,
    PredictorLoader,
    ScoredSink,
    ScoredWriter,
    ScoringPlan,
    ScoringProgress,
    ScoringSource,
    TripBatch,
)
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracing import NO_TRACING, Tracer
from tripcast.core.services.validation import RowsUnaccountedError

SCORED = "batch.scored"


@dataclass(frozen=True, slots=True)
class ScoringJob:
    """What to score, where to write it, with which model version (number or alias)."""

    input: Path
    output: Path
    quarantine: Path | None = None
    model_ref: str = "champion"
    chunk_rows: int = 50_000


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """Counts and locations of one run; ``input_rows == scored_rows + quarantined_rows``."""

    input_rows: int
    scored_rows: int
    quarantined_rows: int
    output: Path
    quarantine: Path
    model_name: str
    model_version: str
    seconds: float
    reasons: dict[str, int] = field(default_factory=dict)
    #: CPU time of this process during the run (all threads): the honest cost on a shared host.
    cpu_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.input_rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def rows_per_cpu_second(self) -> float:
        return self.input_rows / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


class _NoProgress:
    def start(self, description: str, total_rows: int | None) -> None:
        """Nothing to show."""

    def advance(self, rows: int) -> None:
        """Nothing to show."""


class BatchScorer:
    """Scores a planned run with a loaded predictor: check, build features, predict, write, per batch."""

    def __init__(
        self, *, source: ScoringSource, checker: BatchChecker, features: ColumnFeatureBuilder, sink: ScoredSink
    ) -> None:
        self.source = source
        self.checker = checker
        self.features = features
        self.sink = sink

    def run(
        self,
        predictor: Predictor,
        plan: ScoringPlan,
        chunk_rows: int,
        progress: ScoringProgress | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> ScoreReport:
        """Score every row of ``plan`` with ``predictor``; both outputs appear only if every batch succeeded.

        Each batch is a ``tripcast.batch.chunk`` span of ``tracer`` with its row counts."""
        progress = progress or _NoProgress()
        started, cpu_started = time.perf_counter(), time.process_time()
        counts = {"input": 0, "scored": 0, "quarantined": 0}
        reasons: dict[str, int] = {}
        progress.start(f"scoring with {predictor.model_name} v{predictor.model_version}", plan.total_rows)
        with self.sink.open(plan, predictor.model_name, predictor.model_version) as writer:
            for index, batch in enumerate(self.source.batches(plan, chunk_rows)):
                with tracer.span("tripcast.batch.chunk", {"tripcast.chunk": index}) as span:
                    checked = self._score_batch(predictor, batch, writer)
                    span.set_attribute("tripcast.rows.input", batch.num_rows)
                    span.set_attribute("tripcast.rows.scored", checked.valid_rows)
                    span.set_attribute("tripcast.rows.quarantined", checked.refused_rows)
                counts["input"] += batch.num_rows
                counts["scored"] += checked.valid_rows
                counts["quarantined"] += checked.refused_rows
                for name, count in checked.reasons.items():
                    reasons[name] = reasons.get(name, 0) + count
                progress.advance(batch.num_rows)
        return ScoreReport(
            input_rows=counts["input"],
            scored_rows=counts["scored"],
            quarantined_rows=counts["quarantined"],
            output=plan.output,
            quarantine=plan.quarantine,
            model_name=predictor.model_name,
            model_version=predictor.model_version,
            seconds=time.perf_counter() - started,
            reasons=reasons,
            cpu_seconds=time.process_time() - cpu_started,
        )

    def _score_batch(self, predictor: Predictor, batch: TripBatch, writer: ScoredWriter) -> CheckedBatch:
        """Check one batch, predict its valid rows, write both; the checked batch (its counts)."""
        checked = self.checker.check(batch)
        if checked.valid_rows + checked.refused_rows != batch.num_rows:
            raise RowsUnaccountedError(
                f"{batch.source_file} rows {batch.first_row}+{batch.num_rows}: "
                f"{checked.valid_rows} valid + {checked.refused_rows} refused"
            )
        minutes = (
            predictor.predict_features(self.features.features_for_columns(checked.valid))
            if checked.valid_rows
            else []  # a batch of refused rows only: nothing to ask the model
        )
        writer.write(checked, minutes)
        return checked


class BatchScoring:
    """The ``tripcast score`` use case, wired by the composition root."""

    def __init__(
        self,
        *,
        scorer: BatchScorer,
        predictors: PredictorLoader,
        audit: AuditLog,
        clock: Clock,
        model_name: str,
        actor: str = "tripcast",
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.scorer = scorer
        self.predictors = predictors
        self.audit = audit
        self.clock = clock
        self.model_name = model_name
        self.actor = actor
        self.tracer = tracer

    def plan(self, job: ScoringJob) -> ScoringPlan:
        """Check the job's paths without loading a model (refuses outputs that would overwrite inputs)."""
        return self.scorer.source.plan(job.input, job.output, job.quarantine)

    def score(self, job: ScoringJob, progress: ScoringProgress | None = None) -> ScoreReport:
        """Load the model version, score the input into the outputs, record ``batch.scored``.

        One ``tripcast.batch.score`` span (model version, row counts; no path: it may name a bucket or a user)
        with a child per chunk."""
        attributes = {"tripcast.model.name": self.model_name, "tripcast.model.ref": job.model_ref}
        with self.tracer.span("tripcast.batch.score", attributes) as span:
            plan = self.plan(job)  # bad paths fail before the (slow) model load
            predictor = self.predictors.load_predictor(self.model_name, job.model_ref)
            span.set_attribute("tripcast.model.version", predictor.model_version)
            report = self.scorer.run(predictor, plan, job.chunk_rows, progress, self.tracer)
            self._record(report, plan)
            for kind in ("input", "scored", "quarantined"):
                span.set_attribute(f"tripcast.rows.{kind}", getattr(report, f"{kind}_rows"))
        return report

    def _record(self, report: ScoreReport, plan: ScoringPlan) -> None:
        details = {
            "model_version": report.model_version,
            "input": str(plan.input),
            "output": str(report.output),
            "quarantine": str(report.quarantine),
            "rows_in": str(report.input_rows),
            "rows_scored": str(report.scored_rows),
            "rows_quarantined": str(report.quarantined_rows),
        }
        subject = f"model:{report.model_name}/{report.model_version}"
        self.audit.record(AuditEvent(self.clock.now(), self.actor, SCORED, subject, details))

"""Drift monitoring use cases: profile the reference, check current data, judge model decay.

One service for the CLI (``tripcast drift ...``) and the API's monitoring loop. It receives its
collaborators from the composition root; it knows trips only through the :class:`FeatureSource`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.drift import (
    DecayEvaluator,
    DecayVerdict,
    DriftDetection,
    DriftProfile,
    DriftReportWriter,
    DriftSettings,
    DriftVerdict,
    FeatureSample,
    FeatureSource,
    PredictionSource,
    ReferenceProfileStore,
)
from tripcast.core.ports.table import Table
from tripcast.core.ports.tracing import NO_TRACING, Tracer
from tripcast.core.ports.tracking import ModelRegistry

#: The run metric a decay check compares live error with when no validation RMSE is given.
VALIDATION_RMSE_METRIC = "val_rmse"


class InsufficientRowsError(TripcastError):
    """Too few valid rows to judge drift: a check on no data must fail, never pass."""


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    """What ``profile_reference`` profiles and where it keeps the profile."""

    train: str
    model_ref: str | None = None
    run_id: str | None = None
    output: str | None = None
    month: Month | None = None
    min_rows: int = 100


@dataclass(frozen=True, slots=True)
class ProfileResult:
    """A reference profile and where it went."""

    profile: DriftProfile
    sample: FeatureSample
    run_uri: str | None = None
    output: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """What ``check`` compares: current data against a model's (or a file's) reference profile."""

    current: str
    reference: str = "champion"
    profile_file: str | None = None
    settings: DriftSettings = field(default_factory=DriftSettings)
    out_dir: str | None = None
    predictions: bool = True
    month: Month | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The drift report, the rows behind it and the report files."""

    report: DriftVerdict
    sample: FeatureSample
    locations: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DecayRequest:
    """Logged predictions and actual outcomes (tables or their locations) of a model version."""

    predictions: Table | str
    actuals: Table | str
    reference: str = "champion"
    validation_rmse: float | None = None
    key: str = "request_id"
    tolerance: float = 0.2
    window_rows: int = 1000


class DriftMonitoring:
    """Data drift, prediction drift and model decay of the registered model ``model_name``."""

    def __init__(
        self,
        *,
        model_name: str,
        features: FeatureSource,
        profiles: ReferenceProfileStore,
        detection: DriftDetection,
        reports: DriftReportWriter,
        predictions: PredictionSource,
        decay: DecayEvaluator,
        registry: ModelRegistry | None,
        audit: AuditLog,
        clock: Clock,
        actor: str = "tripcast",
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.model_name = model_name
        self.features = features
        self.profiles = profiles
        self.detection = detection
        self.reports = reports
        self.predictions = predictions
        self.decay = decay
        self.registry = registry
        self.audit = audit
        self.clock = clock
        self.actor = actor
        self.tracer = tracer

    # ----------------------------------------------------------------- reference profile
    def profile_reference(self, request: ProfileRequest) -> ProfileResult:
        """Profile training data; attach it to a run (``run_id`` or the model version's) and/or a file.

        Records ``drift.reference_profiled`` in the audit trail.
        """
        if request.run_id is None and request.model_ref is None and request.output is None:
            raise InvalidInputError([FieldProblem("run_id", "give --run-id, --model or --output to keep the profile")])
        sample = self.load_features(request.train, request.month, request.min_rows)
        run_id, predictions, subject = request.run_id, None, f"run:{request.run_id}"
        warnings: list[str] = []
        if request.model_ref is not None:
            version, version_run = self.profiles.run_of(self.model_name, request.model_ref)
            run_id, subject = run_id or version_run, f"model:{self.model_name}/{version}"
            predictions = self._predict(version, sample, warnings)
        profile = self.detection.profile(self.features.spec, sample.features, predictions, {"source": sample.source})
        output = self.reports.write_text(profile.to_json(), request.output) if request.output else None
        run_uri = self.profiles.save(run_id, profile) if run_id is not None else None
        self._record(
            "drift.reference_profiled",
            subject if run_id is not None else f"file:{output}",
            {"source": sample.source, "rows": str(profile.n_rows), "run": run_uri or "", "output": output or ""},
        )
        return ProfileResult(profile=profile, sample=sample, run_uri=run_uri, output=output, warnings=warnings)

    # ----------------------------------------------------------------- drift check
    def check(self, request: CheckRequest) -> CheckResult:
        """Current data against the reference: the report, written as files; raises on too few rows.

        One ``tripcast.drift.check`` span (reference, row counts, verdict) with a child per stage: load,
        predict (when the model is asked), detect, report."""
        with self.tracer.span("tripcast.drift.check", {"tripcast.model.ref": request.reference}) as span:
            result = self._check(request)
            span.set_attribute("tripcast.rows.valid", result.sample.n_valid)
            span.set_attribute("tripcast.rows.quarantined", result.sample.n_quarantined)
            span.set_attribute("tripcast.drift.dataset_drift", result.report.dataset_drift)
            span.set_attribute("tripcast.drift.drifted_columns", len(result.report.drifted_columns))
        return result

    def _check(self, request: CheckRequest) -> CheckResult:
        with self.tracer.span("tripcast.drift.load") as span:
            if request.profile_file is not None:
                profile, label = self.profiles.load_file(request.profile_file), PurePath(request.profile_file).name
            else:
                profile, label = self.profiles.load(self.model_name, request.reference), request.reference
            sample = self.load_features(request.current, request.month, request.settings.min_rows)
            span.set_attribute("tripcast.rows.input", sample.n_input)
        warnings: list[str] = []
        predictions = None
        if request.predictions and request.profile_file is None and profile.prediction is not None:
            with self.tracer.span("tripcast.drift.predict", {"tripcast.rows.valid": sample.n_valid}):
                predictions = self._predict(request.reference, sample, warnings)
        metadata = {"reference": label, "current": sample.source, "quarantined": str(sample.n_quarantined)}
        with self.tracer.span("tripcast.drift.detect"):
            report = self.detection.check(
                self.features.spec, profile, sample.features, predictions, request.settings, metadata
            )
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%SZ")
        stem = f"drift_{self.features.spec.name}_{sample.source.split('.', 1)[0]}_{stamp}"
        with self.tracer.span("tripcast.drift.report"):
            locations = self.reports.write(report, profile, stem, request.out_dir)
        return CheckResult(report=report, sample=sample, locations=locations, warnings=warnings)

    def load_features(self, current: str, month: Month | None, min_rows: int) -> FeatureSample:
        """Valid rows of ``current`` (path or month) as features; refuses fewer than ``min_rows``."""
        sample = self.features.load(self.features.resolve(current), month)
        if sample.n_valid >= min_rows:
            return sample
        ranked = sorted(sample.quarantined.items(), key=lambda kv: -kv[1])
        why = ", ".join(f"{reason} {count:,}" for reason, count in ranked)
        raise InsufficientRowsError(
            f"{sample.source}: {sample.n_valid:,} valid rows, a drift check needs at least {min_rows:,}"
            + (f"; quarantined rows by reason: {why}" if why else "")
        )

    # ----------------------------------------------------------------- model decay
    def check_decay(self, request: DecayRequest) -> DecayVerdict:
        """Live error of logged predictions against actual outcomes, window by window.

        The validation RMSE is the request's, else the ``val_rmse`` metric of the version at
        ``reference``. The API's monitoring loop calls this with in-memory tables.
        """
        rmse = request.validation_rmse if request.validation_rmse is not None else self._validation_rmse(request)
        predictions = (
            self.decay.read(request.predictions) if isinstance(request.predictions, str) else request.predictions
        )
        actuals = self.decay.read(request.actuals) if isinstance(request.actuals, str) else request.actuals
        return self.decay.evaluate(
            predictions,
            actuals,
            validation_rmse=rmse,
            key=request.key,
            tolerance=request.tolerance,
            window_rows=request.window_rows,
        )

    def _validation_rmse(self, request: DecayRequest) -> float:
        if self.registry is None:
            raise InvalidInputError([FieldProblem("validation_rmse", "no registry here: give the validation RMSE")])
        version = self.registry.get(self.model_name, request.reference)
        if VALIDATION_RMSE_METRIC not in version.metrics:
            raise NotFoundError(
                f"{self.model_name} v{version.version} has no {VALIDATION_RMSE_METRIC} metric; give --validation-rmse"
            )
        return float(version.metrics[VALIDATION_RMSE_METRIC])

    # ----------------------------------------------------------------- helpers
    def _predict(self, ref: str, sample: FeatureSample, warnings: list[str]) -> Any:
        """The version's predictions, or None with a warning: prediction drift is optional."""
        try:
            return self.predictions.predict(self.model_name, ref, sample.features)
        except Exception as exc:  # noqa: BLE001 - the data drift report still stands without predictions
            warnings.append(f"no prediction drift: cannot load {self.model_name}@{ref}: {str(exc)[:200]}")
            return None

    def _record(self, action: str, subject: str, details: dict[str, str]) -> None:
        self.audit.record(
            AuditEvent(at=self.clock.now(), actor=self.actor, action=action, subject=subject, details=details)
        )

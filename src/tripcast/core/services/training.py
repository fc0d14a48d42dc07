"""Train, evaluate, track and register a model for a spec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, ModelTrainer, TrainedModel, TrainingSet
from tripcast.core.ports.tracing import NO_TRACING, Tracer
from tripcast.core.ports.tracking import ExperimentTracker, ModelRegistry, RegistrationHook

#: Audit action of a newly registered model version.
REGISTERED = "model.registered"


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    """Which months to train (a sliding window, oldest first), validate and test on, and the model name.

    ``TrainingPlan(month, valid, test, name)`` still trains on one month; ``train_months`` (when given)
    is the whole window and ``train_month`` is then its newest month.
    """

    train_month: Month
    valid_month: Month
    test_month: Month
    model_name: str
    train_months: tuple[Month, ...] = ()

    def __post_init__(self) -> None:
        # One-month plans (every existing caller) get their window filled in; a window names its own last month.
        if not self.train_months:
            object.__setattr__(self, "train_months", (self.train_month,))
        elif self.train_month != self.train_months[-1]:
            object.__setattr__(self, "train_month", self.train_months[-1])

    @classmethod
    def consecutive(cls, train_month: Month, model_name: str) -> TrainingPlan:
        """Train on a month, validate on the next, test on the one after."""
        return cls(train_month, train_month.next(), train_month.next().next(), model_name)

    @classmethod
    def window(
        cls, last_month: Month, size: int, model_name: str, *, valid_month: Month, test_month: Month | None = None
    ) -> TrainingPlan:
        """Train on the ``size`` months ending at ``last_month``; validate (and, without ``test_month``, test)
        on ``valid_month``."""
        if size < 1:
            raise ValueError(f"a training window needs at least one month, got {size}")
        months = [last_month]
        while len(months) < size:
            months.insert(0, months[0].previous())
        return cls(last_month, valid_month, test_month or valid_month, model_name, tuple(months))

    @property
    def window_label(self) -> str:
        """``2021-01`` for one month, ``2021-01..2021-03`` for a window."""
        first, last = self.train_months[0], self.train_months[-1]
        return str(last) if first == last else f"{first}..{last}"


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """Metrics of the model and its baseline, and the registered version."""

    version: ModelVersion
    run_id: str
    validation: Evaluation
    test: Evaluation
    baseline_validation: Evaluation
    n_train: int
    notes: list[str] = field(default_factory=list)


class Training:
    """The training use case: fit, track, register, audit and run the registration hooks.

    Collaborators come from the composition root (``tc.ml.training``), so callers pass only the plan
    and who asked.
    """

    def __init__(
        self,
        *,
        store: DatasetStore,
        features: FeatureBuilder,
        trainer: ModelTrainer,
        baseline_trainer: ModelTrainer,
        metrics: MetricsCalculator,
        tracker: ExperimentTracker,
        registry: ModelRegistry,
        clock: Clock,
        audit: AuditLog,
        hooks: Sequence[RegistrationHook] = (),
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.store = store
        self.features = features
        self.trainer = trainer
        self.baseline_trainer = baseline_trainer
        self.metrics = metrics
        self.tracker = tracker
        self.registry = registry
        self.clock = clock
        self.audit = audit
        self.hooks = tuple(hooks)
        self.tracer = tracer

    def train_and_register(self, plan: TrainingPlan, *, actor: str) -> TrainingReport:
        """Fit the model and a baseline on processed months, log both, register the model (audited
        as ``model.registered``), then run the registration hooks."""
        attributes = {"tripcast.model.name": plan.model_name, "tripcast.training.window": plan.window_label}
        with self.tracer.span("tripcast.training", attributes) as span:
            report = self._train_traced(plan, actor)
            span.set_attribute("tripcast.model.version", report.version.version)
        return report

    def _train_traced(self, plan: TrainingPlan, actor: str) -> TrainingReport:
        """The run's stages, one span each: load, fit (baseline and model), evaluate, register."""
        with self.tracer.span("tripcast.training.load") as span:
            train = self._training_window(plan)
            valid, test = (
                self.features.training_set(self.store.load_processed(month), f"{month}")
                for month in (plan.valid_month, plan.test_month)
            )
            for name, data in (("train", train), ("valid", valid), ("test", test)):
                span.set_attribute(f"tripcast.rows.{name}", len(data))
        with self.tracer.span("tripcast.training.fit", {"tripcast.rows.train": len(train)}) as span:
            baseline_validation = self._track_baseline(plan, train, valid)
            model = self.trainer.fit(train, valid)
            span.set_attribute("tripcast.model.flavor", model.flavor)
        with self.tracer.span("tripcast.training.evaluate") as span:
            validation = self.metrics.evaluate(model, valid)
            test_evaluation = self.metrics.evaluate(model, test)
            span.set_attribute("tripcast.val.rmse", validation.metric("rmse"))
            span.set_attribute("tripcast.baseline.rmse", baseline_validation.metric("rmse"))
        with self.tracer.span("tripcast.training.register") as span:
            run_id, model_uri = self._track_candidate(
                plan, model, (train, valid, test), (validation, test_evaluation, baseline_validation)
            )
            tags = self._version_tags(plan, valid, validation, test_evaluation)
            version = self._register(plan.model_name, model_uri, run_id, tags, actor)
            span.set_attribute("tripcast.model.version", version.version)
            notes = [hook.after_registration(version, model, train) for hook in self.hooks]
        return TrainingReport(
            version=version,
            run_id=run_id,
            validation=validation,
            test=test_evaluation,
            baseline_validation=baseline_validation,
            n_train=len(train),
            notes=notes,
        )

    def _track_candidate(
        self,
        plan: TrainingPlan,
        model: TrainedModel,
        data: tuple[TrainingSet, TrainingSet, TrainingSet],
        evaluations: tuple[Evaluation, Evaluation, Evaluation],
    ) -> tuple[str, str]:
        """Log the candidate (params, datasets, metrics, diagnostics, model) as a tracked run: (run id, model URI)."""
        train, valid, test = data
        validation, test_evaluation, baseline_validation = evaluations
        with self.tracker.start_run(f"{model.flavor}-{plan.window_label}", tags={"role": "candidate"}) as run:
            months = ",".join(str(m) for m in plan.train_months)
            run.log_params(
                {"flavor": model.flavor, "train_month": str(plan.train_month), "train_months": months, **model.params}
            )
            for dataset, context in ((train, "training"), (valid, "validation"), (test, "testing")):
                run.log_dataset(dataset, context)
            run.log_metrics(validation.metrics, prefix="val_")
            run.log_metrics(test_evaluation.metrics, prefix="test_")
            run.log_metrics({"baseline_rmse": baseline_validation.metric("rmse")}, prefix="val_")
            run.log_diagnostics(model, valid)
            return run.run_id, run.log_model(model, self.features.spec, valid)

    def _training_window(self, plan: TrainingPlan) -> TrainingSet:
        """The training set of the plan's months: one month as before, a window as one concatenated set
        named ``first..last`` (its digest covers every month's rows)."""
        if len(plan.train_months) == 1:
            return self.features.training_set(self.store.load_processed(plan.train_month), f"{plan.train_month}")
        trips = self.store.load_processed_months(plan.train_months)
        return self.features.training_set(trips, plan.window_label)

    def _track_baseline(self, plan: TrainingPlan, train: TrainingSet, valid: TrainingSet) -> Evaluation:
        """Fit and log the baseline the candidate must beat; its validation metrics."""
        baseline = self.baseline_trainer.fit(train, valid)
        evaluation = self.metrics.evaluate(baseline, valid)
        with self.tracker.start_run(f"baseline-{plan.train_month}", tags={"role": "baseline"}) as run:
            run.log_params({"flavor": baseline.flavor, **baseline.params})
            run.log_dataset(train, "training")
            run.log_dataset(valid, "validation")
            run.log_metrics(evaluation.metrics, prefix="val_")
        return evaluation

    def _version_tags(
        self, plan: TrainingPlan, valid: TrainingSet, validation: Evaluation, test: Evaluation
    ) -> dict[str, str]:
        """What the registry keeps on the version: its months, validation digest and metrics."""
        return {
            "train_month": str(plan.train_month),
            "train_months": ",".join(str(m) for m in plan.train_months),
            "valid_month": str(plan.valid_month),
            "valid_digest": valid.digest,
            "registered_at": self.clock.now().isoformat(timespec="seconds"),
            **{f"val_{k}": f"{v:.6g}" for k, v in validation.metrics.items()},
            **{f"test_{k}": f"{v:.6g}" for k, v in test.metrics.items()},
        }

    def _register(self, name: str, model_uri: str, run_id: str, tags: dict[str, str], actor: str) -> ModelVersion:
        version = self.registry.register(model_uri, name, tags=tags)
        self.audit.record(
            AuditEvent(
                at=self.clock.now(),
                actor=actor,
                action=REGISTERED,
                subject=f"model:{name}/{version.version}",
                details={"run_id": run_id, "model_uri": model_uri, **tags},
            )
        )
        return version

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
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, ModelTrainer
from tripcast.core.ports.tracking import ExperimentTracker, ModelRegistry, RegistrationHook


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    """Which months to train, validate and test on, and the registered model name."""

    train_month: Month
    valid_month: Month
    test_month: Month
    model_name: str

    @classmethod
    def consecutive(cls, train_month: Month, model_name: str) -> TrainingPlan:
        """Train on a month, validate on the next, test on the one after."""
        return cls(train_month, train_month.next(), train_month.next().next(), model_name)


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


def train_and_register(
    plan: TrainingPlan,
    *,
    store: DatasetStore,
    features: FeatureBuilder,
    trainer: ModelTrainer,
    baseline_trainer: ModelTrainer,
    metrics: MetricsCalculator,
    tracker: ExperimentTracker,
    registry: ModelRegistry,
    clock: Clock,
    audit: AuditLog | None = None,
    actor: str = "tripcast",
    hooks: Sequence[RegistrationHook] = (),
) -> TrainingReport:
    """Fit the model and a baseline on processed months, log both, register the model, run ``hooks``."""
    train = features.training_set(store.load_processed(plan.train_month), f"{plan.train_month}")
    valid = features.training_set(store.load_processed(plan.valid_month), f"{plan.valid_month}")
    test = features.training_set(store.load_processed(plan.test_month), f"{plan.test_month}")

    baseline = baseline_trainer.fit(train, valid)
    baseline_validation = metrics.evaluate(baseline, valid)
    with tracker.start_run(f"baseline-{plan.train_month}", tags={"role": "baseline"}) as run:
        run.log_params({"flavor": baseline.flavor, **baseline.params})
        run.log_dataset(train, "training")
        run.log_dataset(valid, "validation")
        run.log_metrics(baseline_validation.metrics, prefix="val_")

    model = trainer.fit(train, valid)
    validation = metrics.evaluate(model, valid)
    test_evaluation = metrics.evaluate(model, test)
    with tracker.start_run(f"{model.flavor}-{plan.train_month}", tags={"role": "candidate"}) as run:
        run.log_params({"flavor": model.flavor, "train_month": str(plan.train_month), **model.params})
        for data, context in ((train, "training"), (valid, "validation"), (test, "testing")):
            run.log_dataset(data, context)
        run.log_metrics(validation.metrics, prefix="val_")
        run.log_metrics(test_evaluation.metrics, prefix="test_")
        run.log_metrics({"baseline_rmse": baseline_validation.metric("rmse")}, prefix="val_")
        run.log_diagnostics(model, valid)
        model_uri = run.log_model(model, features.spec, valid)
        run_id = run.run_id

    tags = {
        "train_month": str(plan.train_month),
        "valid_month": str(plan.valid_month),
        "valid_digest": valid.digest,
        "registered_at": clock.now().isoformat(timespec="seconds"),
        **{f"val_{k}": f"{v:.6g}" for k, v in validation.metrics.items()},
        **{f"test_{k}": f"{v:.6g}" for k, v in test_evaluation.metrics.items()},
    }
    version = registry.register(model_uri, plan.model_name, tags=tags)
    if audit is not None:
        audit.record(
            AuditEvent(
                at=clock.now(),
                actor=actor,
                action="model.registered",
                subject=f"model:{plan.model_name}/{version.version}",
                details={"run_id": run_id, "model_uri": model_uri, **tags},
            )
        )
    notes = [hook.after_registration(version, model, train) for hook in hooks]
    return TrainingReport(
        version=version,
        run_id=run_id,
        validation=validation,
        test=test_evaluation,
        baseline_validation=baseline_validation,
        n_train=len(train),
        notes=notes,
    )

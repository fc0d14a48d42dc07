"""In-memory fakes of the model-lifecycle ports (registry, tracker, trainer, compiler, audit...), for the
service tests of training, promotion and optimisation (as cosmicpython's tests/unit/test_handlers.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore
from tripcast.core.ports.learning import (
    FeatureBuilder,
    MetricsCalculator,
    ModelTrainer,
    Predictor,
    TrainedModel,
    TrainingSet,
)
from tripcast.core.ports.locks import LockHeldError, Locks
from tripcast.core.ports.tracking import (
    CompiledForm,
    ExperimentTracker,
    ModelCompiler,
    ModelRegistry,
    RegistrationHook,
    TrackedRun,
)

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC),), target="y")


class FakeClock(Clock):
    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


class FakeAudit(AuditLog):
    def __init__(self) -> None:
        self.rows: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.rows.append(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        found = [e for e in reversed(self.rows) if e.subject.startswith(subject_prefix)]
        return [e for e in found if not actions or e.action in actions][:limit]

    @property
    def actions(self) -> list[str]:
        return [e.action for e in self.rows]


class FakeLocks(Locks):
    def __init__(self) -> None:
        self.held: set[str] = set()
        self.taken: list[str] = []

    @contextlib.contextmanager
    def hold(self, name: str, purpose: str) -> Iterator[None]:
        if name in self.held:
            raise LockHeldError(name)
        self.held.add(name)
        self.taken.append(name)
        try:
            yield
        finally:
            self.held.discard(name)


class FakeStore(DatasetStore):
    """Processed months as lists of numbers (the fake features read them as they are)."""

    def __init__(self, months: dict[Month, list[float]]) -> None:
        self.months = months

    def save_processed(self, month: Month, table: Any) -> str:
        self.months[month] = table
        return f"memory:{month}"

    def save_quarantine(self, month: Month, table: Any) -> str:
        return f"memory:{month}/quarantine"

    def load_processed(self, month: Month) -> Any:
        if month not in self.months:
            raise NotFoundError(f"{month} not processed")
        return self.months[month]

    def has_processed(self, month: Month) -> bool:
        return month in self.months

    def load_processed_months(self, months: Sequence[Month]) -> Any:
        return [value for month in months for value in self.load_processed(month)]


class FakeFeatures(FeatureBuilder):
    spec = SPEC
    performs_io = False

    def training_set(self, trips: Any, name: str) -> TrainingSet:
        return TrainingSet(features=list(trips), target=list(trips), name=name, digest=f"digest-{name}")

    def features_for_requests(self, requests: Sequence[Any]) -> Any:
        return [r.trip_distance for r in requests]


class FakeModel(TrainedModel):
    """Predicts ``offset`` more than the target: its RMSE on any set is ``offset``."""

    spec = SPEC

    def __init__(self, flavor: str, offset: float) -> None:
        self.flavor = flavor
        self.offset = offset
        self.params = {"offset": offset}
        self.native = ("native", flavor)

    def predict(self, features: Any) -> Any:
        return [f + self.offset for f in features]


class FakeTrainer(ModelTrainer):
    def __init__(self, flavor: str, offset: float) -> None:
        self.flavor = flavor
        self.offset = offset
        self.fitted_on: list[str] = []

    def fit(self, train: TrainingSet, valid: TrainingSet) -> TrainedModel:
        self.fitted_on.append(train.name)
        return FakeModel(self.flavor, self.offset)


class FakeMetrics(MetricsCalculator):
    """RMSE of a fake model is its offset; of a registry predictor, the rmse the registry holds for it."""

    def __init__(self, registry: FakeRegistry | None = None) -> None:
        self.registry = registry

    def evaluate(self, model: TrainedModel | Predictor, data: TrainingSet) -> Evaluation:
        if isinstance(model, FakeModel):
            rmse = model.offset
        else:
            assert self.registry is not None
            rmse = self.registry.rmse[model.model_version]
        return Evaluation({"rmse": rmse, "mae": rmse / 2}, len(data), data.name, data.digest)


class FakeRun(TrackedRun):
    def __init__(self, run_id: str, log: dict[str, Any]) -> None:
        self.run_id = run_id
        self.log = log

    def log_params(self, params: dict[str, Any]) -> None:
        self.log.setdefault("params", {}).update(params)

    def log_metrics(self, metrics: dict[str, float], prefix: str = "") -> None:
        self.log.setdefault("metrics", {}).update({f"{prefix}{k}": v for k, v in metrics.items()})

    def log_dataset(self, data: TrainingSet, context: str) -> None:
        self.log.setdefault("datasets", []).append((context, data.name))

    def log_diagnostics(self, model: TrainedModel, data: TrainingSet) -> None:
        self.log["diagnostics"] = data.name

    def log_model(self, model: TrainedModel, spec: ModelSpec, example: TrainingSet) -> str:
        self.log["model"] = model.flavor
        return f"runs:/{self.run_id}/model"

    def set_tags(self, tags: dict[str, str]) -> None:
        self.log.setdefault("tags", {}).update(tags)


class FakeTracker(ExperimentTracker):
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def start_run(self, run_name: str, tags: dict[str, str] | None = None) -> Iterator[TrackedRun]:
        log: dict[str, Any] = {"tags": dict(tags or {})}
        self.runs[run_name] = log
        yield FakeRun(f"run-{len(self.runs)}", log)


class FakePredictor(Predictor):
    def __init__(self, name: str, version: str) -> None:
        self.model_name = name
        self.model_version = version

    def predict_features(self, features: Any) -> Any:
        return list(features)

    def predict_trips(self, requests: Sequence[Any]) -> list[float]:
        return [0.0 for _ in requests]


class FakeRegistry(ModelRegistry):
    """Versions with the rmse the fake metrics report for them; ``register`` adds one."""

    def __init__(self, rmse: dict[str, float] | None = None, tags: dict[str, dict[str, str]] | None = None) -> None:
        self.rmse = dict(rmse or {})
        self.tags = {v: dict((tags or {}).get(v, {})) for v in self.rmse}
        self.aliases: dict[str, str] = {}
        self.sources: dict[str, str] = {}

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        version = str(len(self.rmse) + 1)
        self.rmse[version] = float(version)
        self.tags[version] = dict(tags or {})
        self.sources[version] = model_uri
        return self.get(name, version)

    def get(self, name: str, ref: str) -> ModelVersion:
        version = self.aliases.get(ref, ref)
        if version not in self.rmse:
            raise NotFoundError(f"version {ref} does not exist on {name}")
        aliases = tuple(a for a, v in self.aliases.items() if v == version)
        return ModelVersion(name, version, aliases, tags=dict(self.tags[version]))

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        return self.get(name, alias) if alias in self.aliases else None

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        self.tags[version].update(tags or {})
        self.aliases[alias] = version

    def delete_alias(self, name: str, alias: str) -> None:
        self.aliases.pop(alias, None)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, v) for v in sorted(self.rmse, key=int, reverse=True)]

    def load_predictor(self, name: str, ref: str) -> Predictor:
        return FakePredictor(name, self.get(name, ref).version)


class FakeCompiler(ModelCompiler):
    default_options = ("-Os",)

    def __init__(self, *, fail: str = "") -> None:
        self.fail = fail
        self.compiled: list[tuple[str, tuple[str, ...], bool, bool]] = []

    def supports(self, flavor: str) -> bool:
        return flavor == "lightgbm"

    def compile(
        self,
        version: ModelVersion,
        *,
        options: tuple[str, ...] | None = None,
        fitted: TrainedModel | None = None,
        check: TrainingSet | None = None,
    ) -> CompiledForm:
        if self.fail:
            raise RuntimeError(self.fail)
        used = options or self.default_options
        self.compiled.append((version.version, used, fitted is not None, check is not None))
        rows = 100 + (len(check) if check is not None else 0)
        artifact = f"optimized/v{version.version}/lib.so"
        return CompiledForm(version.name, version.version, artifact, 1.5, 0.0, rows, "ab" * 32, used)


class NoteHook(RegistrationHook):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def after_registration(self, version: ModelVersion, model: TrainedModel, train: TrainingSet) -> str:
        self.seen.append((version.version, model.flavor, train.name))
        return f"noted v{version.version}"

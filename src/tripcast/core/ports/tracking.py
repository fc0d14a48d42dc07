"""Ports for experiment tracking and the model registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import Predictor, TrainedModel, TrainingSet


class TrackedRun(ABC):
    """One open experiment run."""

    run_id: str

    @abstractmethod
    def log_params(self, params: dict[str, Any]) -> None:
        """Record hyper-parameters and settings."""

    @abstractmethod
    def log_metrics(self, metrics: dict[str, float], prefix: str = "") -> None:
        """Record metrics, optionally prefixed (``val_``, ``test_``)."""

    @abstractmethod
    def log_dataset(self, data: TrainingSet, context: str) -> None:
        """Record a dataset's name and digest with the run."""

    @abstractmethod
    def log_diagnostics(self, model: TrainedModel, data: TrainingSet) -> None:
        """Record plots that explain the model (residuals, feature importance)."""

    @abstractmethod
    def log_model(self, model: TrainedModel, spec: ModelSpec, example: TrainingSet) -> str:
        """Store the model with signature and input example; return its URI."""

    @abstractmethod
    def set_tags(self, tags: dict[str, str]) -> None:
        """Tag the run."""


class ExperimentTracker(ABC):
    """Opens tracked runs in a named experiment."""

    @abstractmethod
    def start_run(self, run_name: str, tags: dict[str, str] | None = None) -> AbstractContextManager[TrackedRun]:
        """A context manager that yields an open run and closes it (failed on exception)."""


class ModelRegistry(ABC):
    """Versions of named models, with aliases such as ``champion``."""

    @abstractmethod
    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        """Register a logged model as a new version of ``name``."""

    @abstractmethod
    def get(self, name: str, ref: str) -> ModelVersion:
        """A version by number or alias; NotFoundError naming what exists otherwise."""

    @abstractmethod
    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version holding ``alias``, or None."""

    def alias_version(self, name: str, alias: str) -> str | None:
        """Only the version number holding ``alias`` (None when unset): what a poller needs to notice a
        change. Adapters override it when one lookup is cheaper than describing the whole version."""
        found = self.find_alias(name, alias)
        return found.version if found is not None else None

    @abstractmethod
    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        """Point ``alias`` at ``version``; record ``tags`` on that version."""

    def tag_version(self, name: str, version: str, tags: dict[str, str]) -> None:
        """Record ``tags`` on ``version`` without moving any alias (the ledger moves it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot tag versions")

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` (undoing a first promotion); adapters that can move aliases implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete aliases")

    @abstractmethod
    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, newest first."""

    @abstractmethod
    def load_predictor(self, name: str, ref: str) -> Predictor:
        """Load a version (by number or alias) ready to predict."""

    def iter_names(self) -> Iterator[str]:  # pragma: no cover - optional capability
        """Registered model names, when the backend can list them."""
        return iter(())


class RegistrationHook(ABC):
    """Work that follows the registration of a version: artifacts derived from the fitted model.

    Examples: a drift reference profile of the training data, a compiled inference form.
    """

    @abstractmethod
    def after_registration(self, version: ModelVersion, model: TrainedModel, train: TrainingSet) -> str:
        """Do the work for ``version``; return a one-line summary for the user."""


@dataclass(frozen=True, slots=True)
class CompiledForm:
    """A registered version compiled to native code: where it is stored, how long it took, how exact it is."""

    name: str
    version: str
    artifact_path: str
    compile_seconds: float
    max_abs_diff: float
    check_rows: int
    sha256: str = ""
    compiler_options: tuple[str, ...] = ()


class ModelCompiler(ABC):
    """Compiles a registered version to a faster inference form and publishes it with the version."""

    #: Options used when the caller names none (the fastest predictions).
    default_options: tuple[str, ...] = ()

    @abstractmethod
    def supports(self, flavor: str) -> bool:
        """Whether models of ``flavor`` compile."""

    @abstractmethod
    def compile(
        self,
        version: ModelVersion,
        *,
        options: tuple[str, ...] | None = None,
        fitted: TrainedModel | None = None,
        check: TrainingSet | None = None,
    ) -> CompiledForm:
        """Compile ``version``, verify it against the native model (on ``check`` rows too, when given) and
        publish it; ``fitted`` spares loading the model back. Nothing is published when verification fails."""

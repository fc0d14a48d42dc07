"""Holds the model version being served and swaps it when the registry alias moves.

The holder resolves an alias (``champion`` by default) to a version, loads that version, and keeps it
in one attribute. Readers take a snapshot of that attribute once per request, so a swap is atomic from
their point of view: a request is answered entirely by the old or entirely by the new version. A load
that fails is logged and counted, and the previous version keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.serving.real_time.metrics import ServingMetrics

log = logging.getLogger(__name__)

#: Loads a version (by number) of a named model: ``loader(name, version) -> Predictor``.
PredictorLoader = Callable[[str, str], Predictor]


class ModelNotLoadedError(TripcastError):
    """No model version is loaded yet (the alias is unset or every load so far failed)."""


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A loaded predictor and the registry's description of its version."""

    predictor: Predictor
    version: ModelVersion
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def number(self) -> str:
        return self.version.version


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What one look at the registry did."""

    changed: bool
    version: str | None
    error: str | None = None


class ModelHolder:
    """The currently served model version of ``model_name`` at ``alias``, refreshed in the background."""

    def __init__(
        self,
        registry: ModelRegistry,
        model_name: str,
        *,
        alias: str = "champion",
        loader: PredictorLoader | None = None,
        metrics: ServingMetrics | None = None,
        poll_seconds: float = 10.0,
    ) -> None:
        self.registry = registry
        self.model_name = model_name
        self.alias = alias
        self.loader: PredictorLoader = loader or registry.load_predictor
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self._current: LoadedModel | None = None
        self._last_error: str | None = None
        # Serialises loads (poller vs reload endpoint); readers never take it.
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> LoadedModel | None:
        """The served model, or None before the first successful load."""
        return self._current

    @property
    def last_error(self) -> str | None:
        """The message of the latest failed load, cleared by the next success."""
        return self._last_error

    def require(self) -> LoadedModel:
        """The served model; :class:`ModelNotLoadedError` when there is none yet."""
        current = self._current
        if current is None:
            reason = f": {self._last_error}" if self._last_error else ""
            raise ModelNotLoadedError(f"no version of {self.model_name!r}@{self.alias} is loaded yet{reason}")
        return current

    def refresh(self, *, force: bool = False) -> RefreshOutcome:
        """Load the version at the alias if it differs from the served one (or always, with ``force``)."""
        with self._load_lock:
            current = self._current
            if not force and current is not None:
                try:
                    # The common case, every poll: nothing changed, and one cheap lookup says so.
                    if self.registry.alias_version(self.model_name, self.alias) == current.version.version:
                        return RefreshOutcome(False, current.version.version)
                except Exception as exc:  # noqa: BLE001 - a registry outage must not stop serving
                    return self._failed(f"cannot read alias {self.model_name}@{self.alias}: {exc}")
            try:
                target = self.registry.find_alias(self.model_name, self.alias)
            except Exception as exc:  # noqa: BLE001 - a registry outage must not stop serving
                return self._failed(f"cannot read alias {self.model_name}@{self.alias}: {exc}")
            if target is None:
                message = f"model {self.model_name!r} has no {self.alias!r} alias"
                if self._current is None:
                    self._last_error = message
                return RefreshOutcome(False, self._version_number(), message)
            current = self._current
            if not force and current is not None and current.version.version == target.version:
                return RefreshOutcome(False, current.version.version)
            try:
                predictor = self.loader(self.model_name, target.version)
            except Exception as exc:  # noqa: BLE001 - any loader failure keeps the previous model serving
                return self._failed(f"loading {self.model_name} v{target.version} failed: {exc}")
            self._swap(LoadedModel(predictor, target))
            return RefreshOutcome(True, target.version)

    def _swap(self, loaded: LoadedModel) -> None:
        previous = self._current
        self._current = loaded  # one reference assignment: readers see old or new, never a mix
        self._last_error = None
        if self.metrics is not None:
            self.metrics.model_reloads.labels("success").inc()
            if previous is not None:
                self.metrics.model_info.labels(previous.name, previous.number).set(0)
            self.metrics.model_info.labels(loaded.name, loaded.number).set(1)
        log.info(
            "serving %s v%s (was %s)",
            loaded.name,
            loaded.number,
            f"v{previous.number}" if previous else "nothing",
        )

    def _failed(self, message: str) -> RefreshOutcome:
        self._last_error = message
        if self.metrics is not None:
            self.metrics.model_reloads.labels("failure").inc()
        kept = self._version_number()
        log.error("%s; %s", message, f"still serving v{kept}" if kept else "nothing is served yet")
        return RefreshOutcome(False, kept, message)

    def _version_number(self) -> str | None:
        current = self._current
        return current.version.version if current else None

    # background polling -------------------------------------------------------------------------------

    def start(self) -> None:
        """Load now (a failure is logged, not raised) and follow the alias in a daemon thread."""
        self.refresh()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll, name=f"model-holder-{self.model_name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop following the alias; the served model stays loaded."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.poll_seconds))
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # pragma: no cover - refresh already guards; this keeps the thread alive
                log.exception("model refresh crashed")

"""Holds the model version being served and swaps it when the registry alias moves.

The holder resolves an alias (``champion`` by default) to a version, loads that version, and keeps it
in one attribute. Readers take a snapshot of that attribute once per request, so a swap is atomic from
their point of view: a request is answered entirely by the old or entirely by the new version. A load
that fails is logged and counted, and the previous version keeps serving.

While the registry cannot be reached (its database down at start, or dropped later) the poller retries
with exponential backoff (doubling, capped at ``max_retry_seconds``) and logs one warning line per
outage, not one per retry. What clients and readiness probes see is :attr:`ModelHolder.not_ready_reason`,
a fixed sentence: exception text can carry hosts, URIs and passwords, so it goes to the log only
(credentials in URLs masked).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry import trace

from tripcast.core.domain.errors import ModelNotLoadedError, TripcastError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.serving.real_time.metrics import ServingMetrics

_tracer = trace.get_tracer("tripcast.serving")

log = logging.getLogger(__name__)

#: Loads a version (by number) of a named model: ``loader(name, version) -> Predictor``.
PredictorLoader = Callable[[str, str], Predictor]

#: Why nothing is served, as readiness probes and clients are told: fixed text, never exception text.
REGISTRY_UNREACHABLE = "model registry unreachable; retrying"
LOAD_FAILED = "the model version could not be loaded; retrying"
NOT_LOADED_YET = "model not loaded yet"

_URL_CREDENTIALS = re.compile(r"(?P<user>[A-Za-z][\w+.-]*://[^/@\s:]*):[^/@\s]*@")


def _cause(exc: BaseException) -> BaseException:
    """The exception our own wrapper (a :class:`TripcastError` raised ``from`` it) stands for."""
    return exc.__cause__ if isinstance(exc, TripcastError) and exc.__cause__ is not None else exc


def describe_failure(exc: BaseException, limit: int = 1000) -> str:
    """One log-safe line about ``exc``: its type and first message line, passwords in URLs masked."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return _URL_CREDENTIALS.sub(r"\g<user>:***@", text)[:limit]


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

    @property
    def predictor_kind(self) -> str:
        """The predictor's class name (native or an optimised form)."""
        return type(self.predictor).__name__

    @property
    def inference_form(self) -> str | None:
        """The row-at-a-time form of an optimised predictor; None for a native one."""
        form = getattr(self.predictor, "form", None)  # only OptimizedPredictor has a choice of forms
        return form if isinstance(form, str) else None


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
        max_retry_seconds: float = 60.0,
    ) -> None:
        self.registry = registry
        self.model_name = model_name
        self.alias = alias
        self.loader: PredictorLoader = loader or registry.load_predictor
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        #: Longest wait between retries while the registry or a load keeps failing.
        self.max_retry_seconds = max(max_retry_seconds, poll_seconds)
        self._current: LoadedModel | None = None
        self._last_error: str | None = None
        self._reason = NOT_LOADED_YET
        self._registry_down = False
        self._failures = 0  # consecutive failed refreshes, for the backoff
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
        """The message of the latest failed load, cleared by the next success (for logs and operators)."""
        return self._last_error

    @property
    def not_ready_reason(self) -> str:
        """Why nothing is served yet, safe to show anyone: a fixed sentence, no exception text."""
        return self._reason

    def require(self) -> LoadedModel:
        """The served model; :class:`ModelNotLoadedError` when there is none yet."""
        current = self._current
        if current is None:
            raise ModelNotLoadedError(
                f"no version of {self.model_name!r}@{self.alias} is loaded yet: {self.not_ready_reason}"
            )
        return current

    def refresh(self, *, force: bool = False) -> RefreshOutcome:
        """Load the version at the alias if it differs from the served one (or always, with ``force``)."""
        with self._load_lock:
            current = self._current
            if not force and current is not None:
                try:
                    # The common case, every poll: nothing changed, and one cheap lookup says so.
                    if self.registry.alias_version(self.model_name, self.alias) == current.version.version:
                        self._registry_answered()
                        self._failures = 0
                        return RefreshOutcome(False, current.version.version)
                except Exception as exc:  # noqa: BLE001 - a registry outage must not stop serving
                    return self._registry_failed(exc)
            try:
                target = self.registry.find_alias(self.model_name, self.alias)
            except Exception as exc:  # noqa: BLE001 - a registry outage must not stop serving
                return self._registry_failed(exc)
            self._registry_answered()
            if target is None:
                message = f"model {self.model_name!r} has no {self.alias!r} alias"
                self._failures = 0  # nothing to retry: polling notices when the alias is set
                if self._current is None:
                    self._last_error = message
                    self._reason = f"{message} yet; retrying"
                return RefreshOutcome(False, self._version_number(), message)
            current = self._current
            if not force and current is not None and current.version.version == target.version:
                self._failures = 0
                return RefreshOutcome(False, current.version.version)
            # A span only when a version is loaded (the per-second "nothing changed" poll would be noise); a
            # no-op unless the composition root installed a tracer provider.
            attributes = {"tripcast.model.name": self.model_name, "tripcast.model.version": target.version}
            with _tracer.start_as_current_span("tripcast.registry.reload", attributes=attributes):
                try:
                    predictor = self.loader(self.model_name, target.version)
                except Exception as exc:  # noqa: BLE001 - any loader failure keeps the previous model serving
                    return self._load_failed(target.version, exc)
                self._swap(LoadedModel(predictor, target))
            return RefreshOutcome(True, target.version)

    def _registry_answered(self) -> None:
        # The failure count (the backoff) is reset by a settled state, not by the registry answering: a
        # version that fails to load keeps backing off while the registry answers every time.
        if self._registry_down:
            self._registry_down = False
            log.warning("model registry reachable again")

    def _registry_failed(self, exc: Exception) -> RefreshOutcome:
        """An outage: one warning when it starts (the cause, masked), quiet retries until it ends."""
        self._failures += 1
        self._last_error = REGISTRY_UNREACHABLE
        if self._current is None:
            self._reason = REGISTRY_UNREACHABLE
        if self.metrics is not None:
            self.metrics.model_reloads.labels("failure").inc()
        kept = self._version_number()
        if not self._registry_down:
            self._registry_down = True
            log.warning(
                "model registry unreachable (%s); %s; retrying with backoff up to %g s",
                describe_failure(_cause(exc)),
                f"still serving v{kept}" if kept else "nothing is served yet",
                self.max_retry_seconds,
            )
        else:
            log.debug("model registry still unreachable (%s)", describe_failure(_cause(exc)))
        return RefreshOutcome(False, kept, REGISTRY_UNREACHABLE)

    def _swap(self, loaded: LoadedModel) -> None:
        previous = self._current
        self._current = loaded  # one reference assignment: readers see old or new, never a mix
        self._last_error = None
        self._failures = 0
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

    def _load_failed(self, version: str, exc: Exception) -> RefreshOutcome:
        """Our own errors (a spec mismatch, a missing version) are written to be read, so readiness quotes
        them; anything else (a library's or the OS's text) only reaches the log."""
        reason = LOAD_FAILED
        if isinstance(exc, TripcastError) and str(exc).strip():
            first = describe_failure(exc).split(": ", 1)[-1]
            reason = f"{LOAD_FAILED.removesuffix('; retrying')}: {first}; retrying"
        return self._failed(f"loading {self.model_name} v{version} failed: {describe_failure(exc)}", reason)

    def _failed(self, message: str, reason: str = LOAD_FAILED) -> RefreshOutcome:
        self._failures += 1
        self._last_error = message
        if self._current is None:
            self._reason = reason
        if self.metrics is not None:
            self.metrics.model_reloads.labels("failure").inc()
        kept = self._version_number()
        log.error("%s; %s", message, f"still serving v{kept}" if kept else "nothing is served yet")
        return RefreshOutcome(False, kept, message)

    def _version_number(self) -> str | None:
        current = self._current
        return current.version.version if current else None

    # background polling -------------------------------------------------------------------------------

    def start(self, *, load_now: bool = True) -> None:
        """Load now (a failure is logged, not raised; skipped with ``load_now=False`` when the caller just
        did) and follow the alias in a daemon thread."""
        if load_now:
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

    def retry_delay(self) -> float:
        """Seconds until the next look at the registry: the poll interval while all is well, else
        exponential backoff capped at ``max_retry_seconds``, from 1 s (or the poll interval when shorter)
        while nothing is served, from the poll interval while a loaded version keeps serving."""
        if self._failures == 0:
            return self.poll_seconds
        first = min(1.0, self.poll_seconds) if self._current is None else self.poll_seconds
        return float(min(self.max_retry_seconds, first * 2 ** min(self._failures - 1, 30)))

    def _poll(self) -> None:
        while not self._stop.wait(self.retry_delay()):
            try:
                self.refresh()
            except Exception:  # pragma: no cover - refresh already guards; this keeps the thread alive
                log.exception("model refresh crashed")

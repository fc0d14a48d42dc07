"""The prediction use case: one for the HTTP API, ``tripcast predict``, the dashboard and the stream consumer.

Requests are answered by one snapshot of the served model (a concurrent swap never mixes versions in one
answer), through the prediction cache when there is one (an optimisation, never a failure). With a drift
window the feature rows are built once, here: the model predicts from them and the window receives the
same rows, so a request's features are never built twice.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.prediction import Prediction as PredictedTrip
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.feedback import PredictionLog
from tripcast.core.ports.serving import (
    DriftWindow,
    ModelSource,
    PredictionCache,
    PredictionMetrics,
    RefreshResult,
    RequestFeatures,
    Route,
    ServedModel,
    TrafficSplit,
)
from tripcast.core.ports.tracing import NO_TRACING, AttributeValue, Tracer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServedPredictions:
    """Minutes for each request, in order, and the one model version that produced them all.

    ``feature_rows`` are the rows the model computed (cache misses, in order), kept for the drift window
    when there is one; None otherwise.
    """

    minutes: list[float]
    model: ServedModel
    cache_hits: int = 0
    feature_rows: object | None = None
    computed_minutes: tuple[float, ...] = ()
    #: One id per request, in order, when predictions are logged (ground truth joins on it later).
    request_ids: tuple[str, ...] = ()
    #: The experiment arm that answered, when traffic is split.
    route: Route | None = None

    def as_predictions(self) -> list[PredictedTrip]:
        """One domain prediction per request, tagged with the model version."""
        return [PredictedTrip(m, self.model.name, self.model.number) for m in self.minutes]


class Prediction:
    """Predicts trip durations with the served model; optional cache, metrics and drift window."""

    def __init__(
        self,
        models: ModelSource,
        *,
        cache: PredictionCache | None = None,
        metrics: PredictionMetrics | None = None,
        drift: DriftWindow | None = None,
        features: RequestFeatures | None = None,
        inline_max_requests: int = 0,
        log: PredictionLog | None = None,
        split: TrafficSplit | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        if drift is not None and features is None:
            raise ValueError("a drift window needs the feature builder that turns requests into the model's rows")
        self.models = models
        self.cache = cache
        self.metrics = metrics
        self.drift = drift
        self.features = features
        self.inline_max_requests = inline_max_requests
        self.log = log
        self.split = split
        # Spans around cache lookup, feature building and the model (attributes: versions and counts only).
        self.tracer = tracer
        # Request ids: a random per-instance prefix and a counter, unique across processes and ~15x cheaper
        # than a uuid4 per request (which reads os.urandom each time).
        self._id_prefix = uuid.uuid4().hex[:16]
        self._id_counter = itertools.count()

    def answers_inline(self, n_requests: int) -> bool:
        """Whether :meth:`predict` of ``n_requests`` may run on the caller's event loop.

        Only when it is known to be microseconds of pure computation: at most ``inline_max_requests``,
        a predictor that declares itself ``cpu_only`` and a cache (if any) that stays in the process.
        Handing such a request to a worker thread costs more than the prediction: the loop and the
        thread trade the GIL, and under load the thread waits for the interpreter's switch interval.
        """
        if n_requests > self.inline_max_requests:
            return False
        if self.cache is not None and self.cache.performs_io:
            return False
        model = self.models.current
        return model is not None and model.predictor.cpu_only

    def predict(
        self,
        requests: Sequence[TripRequest],
        request_ids: Sequence[str] | None = None,
        unit_id: str | None = None,
    ) -> ServedPredictions:
        """Predicted minutes for ``requests``; ModelNotLoadedError when nothing is served yet.

        With a prediction log, every answer is handed to it under ``request_ids`` (new ids when not given).
        With a traffic split (an experiment), the arm of ``unit_id`` (default: the request's id, a batch's
        id) answers, and the log records the version that actually answered.
        """
        with self.tracer.span("tripcast.predict", {"tripcast.trips": len(requests)}) as span:
            served = self._predict(requests, request_ids, unit_id)
            span.set_attribute("tripcast.model.name", served.model.name)
            span.set_attribute("tripcast.model.version", served.model.number)
            span.set_attribute("tripcast.cache.hits", served.cache_hits)
            return served

    def _predict(
        self, requests: Sequence[TripRequest], request_ids: Sequence[str] | None, unit_id: str | None
    ) -> ServedPredictions:
        started = time.perf_counter()
        ids = self._ids(requests, request_ids) if self.log is not None or self.split is not None else ()
        route = self._route(unit_id, ids)
        try:
            return self._answer(requests, ids, unit_id, route, started)
        except Exception:
            if route is not None:  # the arm failed the request: the error-rate guardrail counts it
                self._failed(route, unit_id or _batch_id(ids), ids, time.perf_counter() - started)
            raise

    def _answer(
        self,
        requests: Sequence[TripRequest],
        ids: tuple[str, ...],
        unit_id: str | None,
        route: Route | None,
        started: float,
    ) -> ServedPredictions:
        # One snapshot: a concurrent swap cannot mix versions in one answer.
        model = route.model if route is not None else self.models.require()
        results: list[float | None] = (
            self._cached(model, requests) if self.cache is not None else [None] * len(requests)
        )
        missing = [i for i, value in enumerate(results) if value is None]
        rows: object | None = None
        fresh: list[float] = []
        if missing:
            todo = [requests[i] for i in missing] if len(missing) < len(requests) else list(requests)
            rows, fresh = self._compute(model, todo)
            for i, value in zip(missing, fresh, strict=True):
                results[i] = value
            if self.cache is not None:
                self._store(model, todo, fresh)
        hits = len(requests) - len(missing)
        if self.metrics is not None:
            self.metrics.served(model.name, model.number, len(requests))
            if self.cache is not None:
                self.metrics.cache_outcome(hits, len(missing))
        minutes = [float(v) for v in results if v is not None]
        if self.log is not None:
            self._logged(model, requests, minutes, ids)
        if route is not None:
            self._exposed(route, unit_id or _batch_id(ids), ids, requests, minutes, time.perf_counter() - started)
        logged = ids if self.log is not None else ()
        if route is not None and not self._is_served(model):
            rows = None  # the drift window follows the served version: another arm's rows would swap its reference
        return ServedPredictions(minutes, model, hits, rows, tuple(fresh), logged, route)

    def _is_served(self, model: ServedModel) -> bool:
        current = self.models.current
        return current is not None and (current.name, current.number) == (model.name, model.number)

    def _ids(self, requests: Sequence[TripRequest], request_ids: Sequence[str] | None) -> tuple[str, ...]:
        if request_ids is not None:
            ids = tuple(request_ids)
        else:
            first = f"{self._id_prefix}-{next(self._id_counter):x}"
            # A batch's rows are "<batch id>.<index>": the caller learns one short id however large the batch
            # (a header listing 1,000 ids outgrew the proxy's header buffer: HAProxy answered 502).
            ids = (first,) if len(requests) == 1 else tuple(f"{first}.{index}" for index in range(len(requests)))
        if len(ids) != len(requests):
            raise ValueError(f"{len(ids)} request ids for {len(requests)} requests")
        return ids

    def _route(self, unit_id: str | None, ids: tuple[str, ...]) -> Route | None:
        """The experiment arm that answers, None without a running experiment (or when routing fails)."""
        if self.split is None:
            return None
        try:
            return self.split.route(unit_id or _batch_id(ids))
        except Exception:  # an experiment never fails a prediction: the served model answers
            log.exception("experiment routing failed; the served model answers")
            return None

    def _exposed(
        self,
        route: Route,
        unit_id: str,
        ids: tuple[str, ...],
        requests: Sequence[TripRequest],
        minutes: list[float],
        seconds: float,
    ) -> None:
        assert self.split is not None
        try:
            self.split.served(route, unit_id, ids, requests, minutes, seconds)
        except Exception:
            log.exception("exposure recording failed")

    def _failed(self, route: Route, unit_id: str, ids: tuple[str, ...], seconds: float) -> None:
        assert self.split is not None
        try:
            self.split.failed(route, unit_id, ids, seconds)
        except Exception:
            log.exception("exposure recording failed")

    def _logged(
        self,
        model: ServedModel,
        requests: Sequence[TripRequest],
        minutes: list[float],
        ids: tuple[str, ...],
    ) -> None:
        """Hand the answers to the prediction log (a queue append); a log failure never fails a prediction."""
        assert self.log is not None
        try:
            self.log.append(model.name, model.number, ids, requests, minutes)
        except Exception:
            log.exception("prediction log append failed")

    def predict_one(self, request: TripRequest) -> PredictedTrip:
        """The prediction for one trip, tagged with the model version."""
        [prediction] = self.predict([request]).as_predictions()
        return prediction

    def drift_follows(self, model: ServedModel) -> bool:
        """Whether the drift window already compares against ``model`` (observing is then cheap)."""
        return self.drift is not None and self.drift.model_key == (model.name, model.number)

    def observe_drift(self, served: ServedPredictions) -> None:
        """Give the drift window the rows the model computed; never fails (drift never breaks serving)."""
        if self.drift is None or served.feature_rows is None:
            return
        try:
            if not self.drift_follows(served.model):
                self.drift.on_model(served.model.name, served.model.number)
            self.drift.observe(served.feature_rows, list(served.computed_minutes))
        except Exception:
            log.exception("drift observation failed")

    def evaluate_drift(self) -> None:
        """Make the drift window follow the served version, then test it (the monitoring loop's tick)."""
        if self.drift is None:
            return
        loaded = self.models.current
        if loaded is not None:
            self.drift.on_model(loaded.name, loaded.number)
        self.drift.evaluate()

    def _compute(self, model: ServedModel, requests: Sequence[TripRequest]) -> tuple[object | None, list[float]]:
        started = time.perf_counter()
        rows: object | None = None
        attributes: dict[str, AttributeValue] = {
            "tripcast.model.version": model.number,
            "tripcast.trips": len(requests),
        }
        if self.drift is not None and self.features is not None:
            with self.tracer.span("tripcast.features.build", attributes):
                rows = self.features.rows(requests)  # built once: the model and the drift window share them
            with self.tracer.span("tripcast.model.predict", attributes):
                minutes = [float(m) for m in model.predictor.predict_features(rows)]
        else:
            # The predictor builds the features itself (its lean path): one span covers both.
            with self.tracer.span("tripcast.model.predict", attributes):
                minutes = [float(m) for m in model.predictor.predict_trips(requests)]
        if self.metrics is not None:
            self.metrics.model_answered(model.name, model.number, len(minutes), time.perf_counter() - started)
        return rows, minutes

    def _cached(self, model: ServedModel, requests: Sequence[TripRequest]) -> list[float | None]:
        assert self.cache is not None
        try:
            with self.tracer.span("tripcast.cache.lookup", {"tripcast.trips": len(requests)}):
                return self.cache.get_many(model.name, model.number, requests)
        except Exception as exc:  # noqa: BLE001 - a cache outage degrades to "all misses", not errors
            self._cache_error("read", exc)
            return [None] * len(requests)

    def _store(self, model: ServedModel, requests: Sequence[TripRequest], minutes: Sequence[float]) -> None:
        assert self.cache is not None
        try:
            self.cache.put_many(model.name, model.number, requests, minutes)
        except Exception as exc:  # noqa: BLE001 - see _cached
            self._cache_error("write", exc)

    def _cache_error(self, action: str, exc: Exception) -> None:
        if self.metrics is not None:
            self.metrics.cache_failed()
        log.warning("prediction cache %s failed, serving without cache: %s", action, exc)


def _batch_id(ids: tuple[str, ...]) -> str:
    """A single request's id, or the id a batch's rows ("<batch>.<i>") share."""
    return ids[0] if len(ids) == 1 else ids[0].rsplit(".", 1)[0]


#: The audit action of a reload that changed the served version.
MODEL_RELOADED = "model.reloaded"


class ModelReload:
    """Reloading the served model from the registry alias (``POST /v1/models/reload``), audited.

    A reload that swaps the version (or a forced one) changes what answers predictions, so it is
    recorded with who asked; a look that finds the same version changes nothing and records nothing.
    """

    def __init__(self, models: ModelSource, audit: AuditLog | None, clock: Clock) -> None:
        self.models = models
        self.audit = audit
        self.clock = clock

    def reload(self, *, force: bool = False, actor: str = "anonymous") -> RefreshResult:
        """Look at the alias now (``force``: reload even when the version is unchanged)."""
        before = self.models.current
        outcome = self.models.refresh(force=force)
        after = self.models.current
        if outcome.changed and after is not None and self.audit is not None:
            details = {"version": after.number, "forced": str(force).lower()}
            if before is not None:
                details["previous_version"] = before.number
            self.audit.record(AuditEvent(self.clock.now(), actor, MODEL_RELOADED, f"model:{after.name}", details))
        return outcome

"""Answers trip requests with the held model, through the prediction cache when there is one."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.caching.base import PredictionCache
from tripcast.mlops.serving.real_time.metrics import ServingMetrics
from tripcast.mlops.serving.real_time.model_holder import LoadedModel, ModelHolder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServedPredictions:
    """Minutes for each request, in order, and the one model version that produced them all."""

    minutes: list[float]
    model: LoadedModel
    cache_hits: int = 0


class PredictionService:
    """Predicts with one snapshot of the held model; the cache is an optimisation, never a failure."""

    def __init__(
        self,
        holder: ModelHolder,
        cache: PredictionCache | None = None,
        metrics: ServingMetrics | None = None,
        *,
        inline_max_requests: int = 0,
    ):
        self.holder = holder
        self.cache = cache
        self.metrics = metrics
        self.inline_max_requests = inline_max_requests

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
        model = self.holder.current
        return model is not None and model.predictor.cpu_only

    def predict(self, requests: Sequence[TripRequest]) -> ServedPredictions:
        """Predicted minutes for ``requests``; ModelNotLoadedError when nothing is served yet."""
        model = self.holder.require()  # one snapshot: a concurrent swap cannot mix versions in one answer
        results: list[float | None] = [None] * len(requests)
        if self.cache is not None:
            results = self._cached(model, requests)
        missing = [i for i, value in enumerate(results) if value is None]
        hits = len(requests) - len(missing)
        if missing:
            todo = [requests[i] for i in missing]
            started = time.perf_counter()
            minutes = model.predictor.predict_trips(todo)
            if self.metrics is not None:
                self.metrics.prediction_latency.labels(model.number).observe(time.perf_counter() - started)
            fresh = [float(m) for m in minutes]
            for i, value in zip(missing, fresh, strict=True):
                results[i] = value
            if self.cache is not None:
                self._store(model, todo, fresh)
        if self.metrics is not None:
            self.metrics.predictions.labels(model.name, model.number).inc(len(requests))
            if self.cache is not None:
                self.metrics.cache_hits.inc(hits)
                self.metrics.cache_misses.inc(len(missing))
        return ServedPredictions([float(v) for v in results if v is not None], model, hits)

    def _cached(self, model: LoadedModel, requests: Sequence[TripRequest]) -> list[float | None]:
        assert self.cache is not None
        try:
            return self.cache.get_many(model.name, model.number, requests)
        except Exception as exc:  # noqa: BLE001 - a cache outage degrades to "all misses", not errors
            self._cache_error("read", exc)
            return [None] * len(requests)

    def _store(self, model: LoadedModel, requests: Sequence[TripRequest], minutes: Sequence[float]) -> None:
        assert self.cache is not None
        try:
            self.cache.put_many(model.name, model.number, requests, minutes)
        except Exception as exc:  # noqa: BLE001 - see _cached
            self._cache_error("write", exc)

    def _cache_error(self, action: str, exc: Exception) -> None:
        if self.metrics is not None:
            self.metrics.cache_errors.inc()
        log.warning("prediction cache %s failed, serving without cache: %s", action, exc)

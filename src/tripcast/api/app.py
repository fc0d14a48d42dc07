"""FastAPI app factory: everything it needs arrives as arguments (ports and objects, no globals).

The composition root builds the registry, feature builder and cache, and calls :func:`create_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, Protocol

import numpy as np
from fastapi import BackgroundTasks, Body, Depends, FastAPI, Request, Response, status
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import install_error_handlers
from tripcast.api.middleware import MetricsMiddleware, OverloadMiddleware, refusal_counter
from tripcast.api.schemas import (
    PAYLOAD_EXAMPLES,
    BatchPredictionOut,
    ErrorOut,
    ModelOut,
    PredictionOut,
    ReloadOut,
    TripBatchIn,
    TripIn,
    prediction_payload,
)
from tripcast.api.security import (
    AccessPolicy,
    Requires,
    anonymous_permissions,
    authenticator_from_settings,
    identity_of,
)
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.trip import TripRequest, trip_problems
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.serving.caching.base import PredictionCache
from tripcast.mlops.serving.caching.factory import build_cache
from tripcast.mlops.serving.real_time.load_shedding import LoadShedder, SheddingPolicy
from tripcast.mlops.serving.real_time.metrics import (
    EXPOSITION_CONTENT_TYPE,
    ServingMetrics,
    exposition,
    forget_this_worker,
)
from tripcast.mlops.serving.real_time.model_holder import ModelHolder, PredictorLoader
from tripcast.mlops.serving.real_time.service import PredictionService, ServedPredictions
from tripcast.security.api_keys import Authenticator
from tripcast.security.roles import Permission
from tripcast.settings import Settings

log = logging.getLogger(__name__)

#: Bytes allowed per trip in a request body before parsing (a trip is ~150 bytes of JSON).
BYTES_PER_TRIP = 1024
FROM_SETTINGS: Literal["from-settings"] = "from-settings"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key where one is needed, or an unknown or revoked one"},
    403: {
        "model": ErrorOut,
        "description": "The API key's role lacks the permission; the roles that have it are named",
    },
    413: {"model": ErrorOut, "description": "Batch larger than max_batch_size"},
    422: {"model": ErrorOut, "description": "Invalid trip: each broken field is named"},
    503: {"model": ErrorOut, "description": "No model loaded yet, or the server is overloaded (see Retry-After)"},
}


class DriftObserver(Protocol):
    """What the API needs from an online drift monitor (e.g. ``ServedModelDriftMonitor``), injected."""

    def on_model(self, name: str, version: str) -> Any:
        """Follow the served version (load its reference profile); called off the request path."""

    def observe(self, feature_rows: Any, predictions: Any) -> None:
        """Add served feature rows (spec order) and their predictions to the window: must be cheap."""

    def evaluate(self) -> Any:
        """Run the drift tests on the window and set the gauges."""


def to_requests(trips: Sequence[TripIn], *, batch: bool) -> list[TripRequest]:
    """Domain trip requests, or InvalidInputError naming every broken field (``trips[i].field`` in batches)."""
    problems: list[FieldProblem] = []
    requests: list[TripRequest] = []
    for index, trip in enumerate(trips):
        found = trip_problems(
            pickup_datetime=trip.pickup_datetime,
            pickup_zone=trip.pickup_zone,
            dropoff_zone=trip.dropoff_zone,
            trip_distance=trip.trip_distance,
            vendor_id=trip.vendor_id,
            passenger_count=trip.passenger_count,
        )
        if found:
            prefix = f"trips[{index}]." if batch else ""
            problems.extend(FieldProblem(prefix + p.field, p.problem) for p in found)
            continue
        requests.append(
            TripRequest(
                trip.pickup_datetime,
                trip.pickup_zone,
                trip.dropoff_zone,
                float(trip.trip_distance),
                trip.vendor_id,
                trip.passenger_count,
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return requests


def create_app(
    settings: Settings,
    registry: ModelRegistry,
    *,
    model_name: str | None = None,
    alias: str = "champion",
    feature_builder: FeatureBuilder | None = None,
    cache: PredictionCache | Literal["from-settings"] | None = FROM_SETTINGS,
    loader: PredictorLoader | None = None,
    metrics: ServingMetrics | None = None,
    holder: ModelHolder | None = None,
    poll: bool = True,
    drift_monitor: DriftObserver | None = None,
    drift_evaluation_seconds: float | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """The prediction API for ``model_name`` (default ``settings.model_name``) at ``alias``.

    ``loader`` loads a version (default: the optimised loader when ``feature_builder`` is given, which
    falls back to ``registry.load_predictor``); ``cache`` defaults to what the settings describe;
    ``poll=False`` loads once at start-up and then only on ``POST /v1/models/reload``.

    ``drift_monitor`` (needs ``feature_builder``): after each answered prediction, in a background task
    after the response, the request's feature rows and predictions go to ``drift_monitor.observe``; every
    ``drift_evaluation_seconds`` (default ``settings.drift_evaluation_seconds``) an asyncio task makes the
    monitor follow the served version and calls ``evaluate()``, whose gauges should live in
    ``metrics.registry`` so ``/metrics`` exposes them.

    ``authenticator`` turns bearer tokens into identities (default: ``TRIPCAST_API_TOKEN`` and the API keys
    in ``settings.auth_database_url``); every mutating route requires a permission (README "Security").
    """
    name = model_name or settings.model_name
    metrics = metrics or ServingMetrics()
    if loader is None and feature_builder is not None:
        from tripcast.mlops.serving.optimization.loader import OptimizedPredictorLoader

        loader = OptimizedPredictorLoader(registry, settings.tracking_uri, feature_builder)
    if holder is None:
        holder = ModelHolder(
            registry, name, alias=alias, loader=loader, metrics=metrics, poll_seconds=settings.registry_poll_seconds
        )
    resolved_cache = build_cache(settings.cache_url, settings.cache_size) if cache == FROM_SETTINGS else cache
    service = PredictionService(holder, resolved_cache, metrics, inline_max_requests=settings.inline_max_trips)
    if drift_monitor is not None and feature_builder is None:
        raise ValueError("drift_monitor needs the feature_builder that turns requests into the model's rows")
    drift_interval = drift_evaluation_seconds or settings.drift_evaluation_seconds

    def observe_served(requests: list[TripRequest], served: ServedPredictions) -> None:
        # Runs after the response is sent: drift bookkeeping never delays or fails a prediction.
        assert drift_monitor is not None and feature_builder is not None
        try:
            model = served.model
            if getattr(drift_monitor, "model_key", None) != (model.name, model.number):
                drift_monitor.on_model(model.name, model.number)
            matrix = getattr(feature_builder, "feature_matrix", None)
            if matrix is not None:
                rows = matrix(requests)
            else:
                table = feature_builder.features_for_requests(requests)
                rows = table[feature_builder.spec.feature_names].to_numpy(np.float64)
            drift_monitor.observe(rows, served.minutes)
        except Exception:
            log.exception("drift observation failed")

    async def evaluate_drift_forever() -> None:
        assert drift_monitor is not None
        while True:
            await asyncio.sleep(drift_interval)
            try:
                loaded = holder.current
                if loaded is not None:
                    await run_in_threadpool(drift_monitor.on_model, loaded.name, loaded.number)
                await run_in_threadpool(drift_monitor.evaluate)
            except Exception:
                log.exception("drift evaluation failed")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A failed first load (registry down, say) is logged and retried in the background: the server
        # listens either way, and /health/ready says why it is not ready.
        await run_in_threadpool(holder.refresh)
        if poll:
            holder.start(load_now=False)  # not again on the event loop: it just ran in the thread pool
        drift_task: asyncio.Task[None] | None = None
        if drift_monitor is not None:
            loaded = holder.current
            if loaded is not None:
                await run_in_threadpool(drift_monitor.on_model, loaded.name, loaded.number)
            drift_task = asyncio.create_task(evaluate_drift_forever())
        try:
            yield
        finally:
            if drift_task is not None:
                drift_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drift_task
            holder.stop()
            if resolved_cache is not None and resolved_cache != FROM_SETTINGS:
                resolved_cache.close()
            policy.authenticator.close()
            forget_this_worker()

    app = FastAPI(
        title="Tripcast prediction API",
        version="1",
        description=(
            "Predicts NYC taxi trip duration (minutes) from what is known at pickup. "
            'Send one trip or `{"trips": [...]}`; every answer names the model version that produced it.'
        ),
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.service = service
    app.state.drift_monitor = drift_monitor
    install_error_handlers(app)
    policy = AccessPolicy(authenticator or authenticator_from_settings(settings), anonymous_permissions(settings))
    app.state.access_policy = policy

    async def predict(payload: Any, background: BackgroundTasks) -> Response:
        batch = isinstance(payload, TripBatchIn)
        trips: list[TripIn] = payload.trips if isinstance(payload, TripBatchIn) else [payload]
        requests = to_requests(trips, batch=batch)
        inline = service.answers_inline(len(requests))
        served = service.predict(requests) if inline else await run_in_threadpool(service.predict, requests)
        if drift_monitor is not None:
            model_key = (served.model.name, served.model.number)
            if inline and getattr(drift_monitor, "model_key", None) == model_key:
                observe_served(requests, served)  # the same microseconds of numpy as the prediction
            else:
                # A threaded request stays off the loop; a new version's profile load too. Sync: threadpool.
                background.add_task(observe_served, requests, served)
        body: PredictionOut | BatchPredictionOut
        if batch:
            body = BatchPredictionOut(
                predictions=served.minutes,
                model_name=served.model.name,
                model_version=served.model.number,
                count=len(served.minutes),
            )
        else:
            body = PredictionOut(
                minutes=served.minutes[0], model_name=served.model.name, model_version=served.model.number
            )
        # Built from our own typed model, so FastAPI's re-validation against response_model (declared
        # above for the docs) would only repeat work: a returned Response skips it.
        return Response(body.model_dump_json(), media_type="application/json")

    # The body type carries this server's max_batch_size, so it is set here rather than in the signature.
    predict.__annotations__["payload"] = Annotated[
        prediction_payload(settings.max_batch_size), Body(openapi_examples=PAYLOAD_EXAMPLES)
    ]
    app.post(
        "/v1/predictions",
        response_model=PredictionOut | BatchPredictionOut,
        responses=ERROR_RESPONSES,
        summary="Predict trip duration for one trip or a batch",
        tags=["predictions"],
        dependencies=[Depends(Requires(policy, Permission.PREDICT))],
    )(predict)

    @app.get(
        "/v1/models/current",
        response_model=ModelOut,
        response_model_exclude_unset=True,
        responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]},
        tags=["models"],
        dependencies=[Depends(Requires(policy, Permission.READ_MODEL))],
    )
    async def current_model(request: Request) -> ModelOut:
        """The model version answering predictions right now; run id and storage URI for operators and up."""
        identity = identity_of(request)  # found by the Requires dependency
        loaded = holder.require()
        predictor = loaded.predictor
        internals = identity is not None and identity.can(Permission.READ_INTERNALS)
        return ModelOut.of(
            loaded.version, loaded.loaded_at, type(predictor).__name__, getattr(predictor, "form", None), internals
        )

    @app.post(
        "/v1/models/reload",
        response_model=ReloadOut,
        dependencies=[Depends(Requires(policy, Permission.OPERATE))],
        responses={401: ERROR_RESPONSES[401], 403: ERROR_RESPONSES[403], 503: {"model": ErrorOut}},
        tags=["models"],
    )
    async def reload_model(force: bool = False) -> ReloadOut | Response:
        """Look at the registry alias now (``force`` reloads even when the version is unchanged)."""
        outcome = await run_in_threadpool(holder.refresh, force=force)
        body = ReloadOut(changed=outcome.changed, model_version=outcome.version, error=outcome.error)
        if outcome.error and outcome.version is None:
            return Response(body.model_dump_json(), status_code=503, media_type="application/json")
        return body

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        """The process answers."""
        return {"status": "alive"}

    @app.get("/health/ready", tags=["health"], responses={503: {"description": "No model loaded yet"}})
    async def ready(response: Response) -> dict[str, Any]:
        """Ready once a model version is loaded; the reason otherwise is a fixed sentence, never an error's text."""
        loaded = holder.current
        if loaded is None:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "not ready", "reason": holder.not_ready_reason}
        return {"status": "ready", "model_name": loaded.name, "model_version": loaded.number}

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus exposition: this process's metrics, or all workers' under `tripcast serve --workers N`."""
        return Response(exposition(metrics.registry), media_type=EXPOSITION_CONTENT_TYPE)

    # One shedder per app: the overload middleware and, under `tripcast serve`, the HTTP protocol
    # (tripcast.api.protocol, which finds it on app.state) refuse with the same counts, probe and body
    # limit (counted as the body streams in, so a chunked upload is cut off before it is buffered).
    max_body_bytes = settings.max_batch_size * BYTES_PER_TRIP + 64 * 1024
    shedder = LoadShedder(
        SheddingPolicy(
            settings.max_in_flight,
            settings.max_loop_lag_ms / 1000 if settings.max_loop_lag_ms > 0 else None,
            settings.max_loop_busy if settings.max_loop_busy > 0 else None,
            burst_in_flight=(
                max(settings.max_burst_in_flight, settings.max_in_flight) if settings.max_burst_in_flight else None
            ),
        ),
        on_refusal=refusal_counter(metrics),
        max_body_bytes=max_body_bytes,
    )
    app.state.load_shedder = shedder
    # Outermost last: metrics see every answer, including the overload guard's 503s.
    app.add_middleware(
        OverloadMiddleware,
        max_in_flight=settings.max_in_flight,
        timeout_seconds=settings.request_timeout_seconds,
        max_body_bytes=max_body_bytes,
        metrics=metrics,
        shedder=shedder,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app

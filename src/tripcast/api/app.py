"""FastAPI app factory: the composition root (``tripcast.bootstrap.serving``) wires the parts, this assembles them.

``create_app(serving_parts_from_env())`` is the production app; tests pass parts wired with fakes.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from tripcast.api.errors import install_error_handlers
from tripcast.api.lifespan import lifespan_of
from tripcast.api.middleware import MetricsMiddleware, OverloadMiddleware, refusal_counter
from tripcast.api.routes.approvals import add_approval_routes
from tripcast.api.routes.console import add_console_routes
from tripcast.api.routes.experiments import add_experiment_routes
from tripcast.api.routes.health import add_health_routes
from tripcast.api.routes.history import add_history_routes
from tripcast.api.routes.models import add_model_routes
from tripcast.api.routes.predictions import add_prediction_routes
from tripcast.api.routes.rollback import add_rollback_route
from tripcast.api.routes.ui import add_ui_routes
from tripcast.api.security import AccessPolicy
from tripcast.bootstrap.serving import LoadShedder, ServingParts, SheddingPolicy, instrument_api, trace_exemplar_of

#: Bytes allowed per trip in a request body before parsing (a trip is ~150 bytes of JSON).
BYTES_PER_TRIP = 1024

DESCRIPTION = (
    "Predicts NYC taxi trip duration (minutes) from what is known at pickup. "
    'Send one trip or `{"trips": [...]}`; every answer names the model version that produced it.'
)


#: FastAPI's own OpenTelemetry spans and metrics (on as soon as a tracer provider is installed) stay off: the
#: server spans come from Tripcast's own middleware (health and /metrics excluded, sampled at the edge;
#: ``tripcast.observability.tracing.ServerSpans``), and one request must not be traced twice.
NATIVE_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(parts: ServingParts) -> FastAPI:
    """The prediction API over ``parts``: routers per resource, overload protection, metrics, error bodies."""
    app = FastAPI(
        title="Tripcast prediction API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan_of(parts),
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    policy = AccessPolicy(parts.authenticator, parts.anonymous)
    app.state.holder = parts.models
    app.state.metrics = parts.metrics
    app.state.prediction = parts.prediction
    app.state.drift_monitor = parts.prediction.drift
    app.state.access_policy = policy
    install_error_handlers(app)
    # Routes go on the app's own router: an included APIRouter would add a routing level to every request.
    add_prediction_routes(app.router, parts, policy)
    add_model_routes(app.router, parts.models, parts.reload, policy)
    add_health_routes(app.router, parts.models, parts.metrics)
    if parts.approvals is not None:
        add_approval_routes(app.router, parts.approvals, parts.settings.model_name, policy)
    if parts.ledger_history is not None:
        add_history_routes(app.router, parts.ledger_history, parts.settings.model_name, policy)
    if parts.rollback is not None:
        add_rollback_route(app.router, parts.rollback, parts.settings.model_name, policy)
    if parts.experiments is not None:
        add_experiment_routes(app.router, parts.experiments, policy)
    add_console_routes(app.router, parts, policy)  # the web console's read-only JSON
    add_ui_routes(app, parts.settings.home or parts.settings.data_dir)
    install_overload_protection(app, parts)
    instrument_api(app, parts.settings)  # OpenTelemetry's server span wraps every middleware (tracing on only)
    return app


def install_overload_protection(app: FastAPI, parts: ServingParts) -> None:
    """One shedder per app, shared by the overload middleware and (under ``tripcast serve``) the HTTP protocol.

    Both refuse with the same counts, probe and body limit (counted as the body streams in, so a chunked
    upload is cut off before it is buffered); ``tripcast.api.protocol`` finds the shedder on ``app.state``.
    """
    settings, metrics = parts.settings, parts.metrics
    max_body_bytes = settings.max_batch_size * BYTES_PER_TRIP + 64 * 1024
    burst = max(settings.max_burst_in_flight, settings.max_in_flight) if settings.max_burst_in_flight else None
    policy = SheddingPolicy(
        settings.max_in_flight,
        settings.max_loop_lag_ms / 1000 if settings.max_loop_lag_ms > 0 else None,
        settings.max_loop_busy if settings.max_loop_busy > 0 else None,
        burst_in_flight=burst,
    )
    shedder = LoadShedder(policy, on_refusal=refusal_counter(metrics), max_body_bytes=max_body_bytes)
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
    app.add_middleware(MetricsMiddleware, metrics=metrics, exemplar=trace_exemplar_of(settings))

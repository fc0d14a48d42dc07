"""Wiring of serving: the prediction use case with its model source, cache, metrics and drift window.

The HTTP API receives a :class:`ServingParts` (``create_app(serving_parts_from_env())``); ``tripcast predict``,
the dashboard and the stream consumer take a :class:`~tripcast.core.services.prediction.Prediction` from
:class:`ServingServices` (``bootstrap().serving``). The adapters the API's middleware and HTTP protocol use
are re-exported here, so ``tripcast.api`` imports only the core, the bootstrap package and itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tripcast.core.domain.access import Permission
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.ledger import LedgerEntry
from tripcast.core.ports.access import Authenticator
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.feedback import PredictionLog
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.core.ports.pipeline import DataRunHistory
from tripcast.core.ports.serving import ModelSource
from tripcast.core.ports.tracing import NO_TRACING  # level: intermediate
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.core.services.prediction import ModelReload, Prediction
from tripcast.mlops.serving.contracts.trip import (
    TRIP_EXAMPLE,
    TripBatchIn,
    TripIn,
    parse_trip_json,
    prediction_payload,
    trip_requests,
)
from tripcast.mlops.serving.real_time.load_shedding import (
    ADMITTED_SCOPE_KEY,
    BODY_TOO_LARGE_SCOPE_KEY,
    LoadShedder,
    LoopLagMonitor,
    Refusal,
    SheddingPolicy,
    body_too_large,
)
from tripcast.mlops.serving.real_time.metrics import (
    EXPOSITION_CONTENT_TYPE,
    MULTIPROCESS_DIR_ENV,
    ServingMetrics,
    exposition,
    forget_this_worker,
    negotiated_exposition,
)
from tripcast.mlops.serving.real_time.model_holder import LoadedModel, ModelHolder, PredictorLoader, RefreshOutcome
from tripcast.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tripcast.bootstrap import Tripcast
    from tripcast.core.ports.audit import AuditLog  # level: intermediate
    from tripcast.core.ports.serving import DriftWindow, PredictionCache, TrafficSplit  # level: intermediate
    from tripcast.core.ports.tracing import Tracer  # level: intermediate
    from tripcast.core.services.approval import Approvals
    from tripcast.mlops.serving.streaming import StreamScorer

__all__ = [
    "ADMITTED_SCOPE_KEY",
    "BODY_TOO_LARGE_SCOPE_KEY",
    "EXPOSITION_CONTENT_TYPE",
    "MULTIPROCESS_DIR_ENV",
    "TRIP_EXAMPLE",
    "LoadShedder",
    "LoopLagMonitor",
    "Refusal",
    "RollbackChampion",
    "ServingMetrics",
    "ServingParts",
    "ServingServices",
    "Settings",
    "SheddingPolicy",
    "StreamSettings",
    "TripBatchIn",
    "TripIn",
    "body_too_large",
    "exposition",
    "forget_this_worker",
    "instrument_api",
    "negotiated_exposition",
    "parse_trip_json",
    "prediction_payload",
    "trace_exemplar_of",
    "trip_requests",
    "zone_boroughs",
    "zone_names",
]
__all__ += ["serving_parts", "serving_parts_from_env"]  # level: intermediate

FROM_SETTINGS: Literal["from-settings"] = "from-settings"
#: (model, limit) -> the newest ledger rows of that model, oldest first.
LedgerHistory = Callable[[str, int], list[LedgerEntry]]
#: model -> its registered versions (the web console's models page).
ModelVersions = Callable[[str], list[ModelVersion]]
#: (model, actor, reason, to_version or None) -> the ledger row of the rollback (``Rollback.rollback``).
RollbackChampion = Callable[[str, str, str, str | None], LedgerEntry]


class BackgroundService(Protocol):
    """Something a server starts after its first model load and stops at shutdown (experiments' poller)."""

    def start(self) -> None:
        """Begin (may do blocking I/O: called in a worker thread)."""

    def stop(self) -> None:
        """Finish and write what is queued (blocking: called in a worker thread)."""


@dataclass(frozen=True)
class ServingParts:
    """Everything the HTTP API is built from, wired by the composition root."""

    settings: Settings
    prediction: Prediction
    models: ModelSource
    reload: ModelReload
    metrics: ServingMetrics
    authenticator: Authenticator
    anonymous: frozenset[Permission]
    #: Follow the registry alias in the background (False: load at start-up and on reload only).
    poll: bool = True
    #: Seconds between drift evaluations, when the prediction use case has a drift window.
    drift_interval_seconds: float = 60.0
    #: The approval workflow (expert), built on its first request; None: no approval routes.
    approvals: Callable[[], Approvals] | None = None
    #: Reads the promotion ledger (``GET /v1/models/history``); None leaves the route out.
    ledger_history: LedgerHistory | None = None
    #: The experiments facade ``/v1/experiments`` calls (expert), built on first request; None: no routes.
    experiments: Callable[[], Any] | None = None
    #: Follows running experiments (polls their store) and flushes exposures at shutdown; None: no split.
    experiment_runner: BackgroundService | None = None
    #: Lists the registry's versions (``GET /v1/console/models``); None leaves the route answering 503.
    model_versions: ModelVersions | None = None
    #: Reads the pipeline's and validation's records per month (``GET /v1/console/data``); None: no route.
    data_runs: Callable[[], DataRunHistory] | None = None
    #: Rolls the champion back (``POST /v1/models/rollback``), built on first use; None: no route.
    rollback: RollbackChampion | None = None

    def close(self) -> None:
        """Release what the parts hold (the server's shutdown); the prediction log writes what it queued."""
        if self.prediction.log is not None:
            self.prediction.log.close()
        if self.prediction.cache is not None:
            self.prediction.cache.close()
        self.authenticator.close()


class FeatureRows:
    """Request feature rows (spec order) from a feature builder: its lean matrix path when it has one."""

    def __init__(self, builder: FeatureBuilder) -> None:
        self.builder = builder

    def rows(self, requests: object) -> object:
        import numpy as np
        import pandas as pd

        features = self.builder.feature_matrix(requests)  # type: ignore[arg-type]
        if isinstance(features, pd.DataFrame):  # the port's default: the feature table
            return features[self.builder.spec.feature_names].to_numpy(np.float64)
        return features


def serving_parts(  # level: intermediate
    settings: Settings,
    registry: ModelRegistry,
    *,
    model_name: str | None = None,
    alias: str = "champion",
    feature_builder: FeatureBuilder | None = None,
    cache: PredictionCache | Literal["from-settings"] | None = FROM_SETTINGS,
    loader: PredictorLoader | None = None,
    metrics: ServingMetrics | None = None,
    holder: ModelSource | None = None,
    poll: bool = True,
    drift_monitor: DriftWindow | None = None,
    drift_evaluation_seconds: float | None = None,
    authenticator: Authenticator | None = None,
    audit: AuditLog | None = None,
    clock: Clock | None = None,
    prediction_log: PredictionLog | None = None,
    split: TrafficSplit | None = None,
    tracer: Tracer = NO_TRACING,
) -> ServingParts:
    """The API's parts for ``model_name`` (default ``settings.model_name``) at ``alias``.

    ``loader`` loads a version (default: the optimised loader when ``feature_builder`` is given); ``cache``
    defaults to what the settings describe; ``drift_monitor`` needs ``feature_builder``; ``authenticator``
    defaults to ``TRIPCAST_API_TOKEN`` and the API keys in ``settings.auth_database_url``; reloads that
    change the served version are recorded in ``audit`` when given.
    """
    from tripcast.bootstrap.access import anonymous_permissions, authenticator_from_settings

    metrics = metrics or ServingMetrics()
    if loader is None and feature_builder is not None:
        from tripcast.mlops.serving.optimization.loader import OptimizedPredictorLoader

        loader = OptimizedPredictorLoader(registry, settings.tracking_uri, feature_builder)
    if holder is None:
        holder = ModelHolder(
            registry, model_name or settings.model_name, alias=alias, loader=loader, metrics=metrics,
            poll_seconds=settings.registry_poll_seconds,
        )  # fmt: skip
    if cache == FROM_SETTINGS:
        from tripcast.mlops.serving.caching.factory import build_cache

        cache = build_cache(settings.cache_url, settings.cache_size)
    features = FeatureRows(feature_builder) if drift_monitor is not None and feature_builder is not None else None
    prediction = Prediction(
        holder, cache=cache, metrics=metrics, drift=drift_monitor, features=features,
        inline_max_requests=settings.inline_max_trips, log=prediction_log, split=split, tracer=tracer,
    )  # fmt: skip
    return ServingParts(
        settings=settings,
        prediction=prediction,
        models=holder,
        reload=ModelReload(holder, audit, clock or _system_clock()),
        metrics=metrics, authenticator=authenticator or authenticator_from_settings(settings),
        anonymous=anonymous_permissions(settings), poll=poll,
        drift_interval_seconds=drift_evaluation_seconds or settings.drift_evaluation_seconds,
    )  # fmt: skip


def serving_parts_from_env(settings: Settings | None = None) -> ServingParts:  # level: intermediate
    """The API's parts wired from ``TRIPCAST_*`` settings via :func:`tripcast.bootstrap.bootstrap`.

    The registry connects on first use (:attr:`tripcast.bootstrap.Tripcast.serving_registry`): the
    server listens, and reports not ready, while the registry database is down.
    """
    from dataclasses import replace

    from tripcast.bootstrap import bootstrap, tracer_of
    from tripcast.bootstrap.monitoring import served_drift_monitor
    from tripcast.mlops.serving.real_time.deferred_registry import quiet_registry_outage_logs

    quiet_registry_outage_logs()
    tripcast = bootstrap(settings)
    metrics = ServingMetrics()
    prediction_log: PredictionLog | None = None
    split: TrafficSplit | None = None
    tripcast.feedback.register_live_error_metrics(metrics.on_scrape)  # level: expert
    prediction_log = tripcast.feedback.prediction_log()  # level: expert
    registry = tripcast.serving_registry
    split, runner = experiment_split(tripcast, registry, metrics, feature_builder=tripcast.features)  # level: expert
    parts = serving_parts(
        tripcast.settings,
        registry,
        feature_builder=tripcast.features,
        metrics=metrics,
        drift_monitor=served_drift_monitor(tripcast, metrics.registry),
        audit=tripcast.audit_on_first_use,  # opened on the first audited reload, not at start-up
        clock=tripcast.clock,
        prediction_log=prediction_log,  # issue #13: ground truth joins on it
        split=split,
        tracer=tracer_of(tripcast.settings),
    )
    parts = replace(parts, model_versions=lambda model: tripcast.serving_registry.list_versions(model))
    parts = replace(parts, data_runs=lambda: tripcast.data.runs)  # level: advanced
    parts = _with_expert_parts(parts, tripcast, runner)  # level: expert
    return parts


def _with_expert_parts(  # level: expert
    parts: ServingParts, tc: Tripcast, runner: BackgroundService | None
) -> ServingParts:
    """``parts`` with the approval, ledger and experiment routes' collaborators (the expert level).

    The approval routes build the workflow (registry, request store) on their first request.
    The ledger opens on the first history request, not at start-up (the registry may be down then).
    """
    from dataclasses import replace

    return replace(
        parts,
        approvals=lambda: tc.approvals,
        ledger_history=lambda model, limit: tc.ml.rollback.history(model, limit=limit),
        experiments=lambda: tc.experiments.http(),
        experiment_runner=runner,
        rollback=lambda model, actor, reason, to: tc.ml.rollback.rollback(
            model, actor=actor, reason=reason, to_version=to
        ),
    )


def instrument_api(app: FastAPI, settings: Settings) -> bool:
    """HTTP server spans on ``app`` when tracing is on (``otel_exporter_endpoint``); whether it was instrumented."""
    instrumented = False
    if settings.otel_exporter_endpoint is not None:  # level: advanced
        from tripcast.bootstrap import configure_traces
        from tripcast.observability.tracing import instrument_fastapi

        instrumented = configure_traces(settings)
        if instrumented:
            instrument_fastapi(app, settings.otel_sampling_ratio)
    return instrumented


def trace_exemplar_of(settings: Settings) -> Callable[[], dict[str, str] | None] | None:
    """The current sampled trace's id as a metric exemplar (``{"trace_id": ...}``), when tracing is on."""
    exemplar: Callable[[], dict[str, str] | None] | None = None
    if settings.otel_exporter_endpoint is not None:  # level: advanced
        from tripcast.bootstrap import configure_traces
        from tripcast.observability.tracing import trace_exemplar

        if configure_traces(settings):
            exemplar = trace_exemplar
    return exemplar


def experiment_split(  # level: expert
    tripcast: Tripcast,
    registry: ModelRegistry,
    metrics: ServingMetrics | None = None,
    *,
    feature_builder: FeatureBuilder | None = None,
) -> tuple[TrafficSplit | None, BackgroundService | None]:
    """The served model's traffic split and its poller (issue #14), or (None, None) when
    ``experiments_serving`` is off. Each arm's model is loaded once (with the optimised loader when
    ``feature_builder`` is given, as the champion is): a version pinned, an alias followed."""
    settings = tripcast.settings
    if not settings.experiments_serving:
        return None, None
    loader: PredictorLoader | None = None
    if feature_builder is not None:
        from tripcast.mlops.serving.optimization.loader import OptimizedPredictorLoader

        loader = OptimizedPredictorLoader(registry, settings.tracking_uri, feature_builder)

    def arm_source(model_name: str, ref: str) -> ModelSource:
        if ref.isdigit():
            return PinnedModel(registry, model_name, ref, loader)
        holder = ModelHolder(
            registry, model_name, alias=ref, loader=loader, metrics=metrics, poll_seconds=settings.registry_poll_seconds
        )
        holder.refresh()
        holder.start(load_now=False)
        return holder

    return tripcast.experiments.traffic(registry, settings.model_name, arm_source, metrics)


def _system_clock() -> Clock:
    from tripcast.bootstrap import SystemClock

    return SystemClock()


def zone_names() -> dict[int, str]:
    """TLC zone id -> zone name, from the zone table bundled with the package (for pickers and labels)."""
    from tripcast.data_engineering.tlc.zones import ZoneLookup

    zones = ZoneLookup.bundled()
    return {zone_id: zones.name(zone_id) for zone_id in zones.zone_ids}


def zone_boroughs() -> dict[int, tuple[str, str]]:
    """TLC zone id -> (zone name, borough), from the bundled zone table (the web console's zone picker)."""
    from tripcast.data_engineering.tlc.zones import ZoneLookup

    zones = ZoneLookup.bundled()
    return {zone_id: (str(zones.table.loc[zone_id, "Zone"]), zones.borough(zone_id)) for zone_id in zones.zone_ids}


class ServingServices:
    """The prediction use case for the command line, the dashboard and the stream consumer."""

    def __init__(self, tripcast: Tripcast) -> None:
        self.tripcast = tripcast

    def prediction(self, ref: str = "champion", *, logged: bool = False) -> Prediction:
        """Predictions by the version ``ref`` (alias or number) names, loaded once now.

        ``logged``: every answer goes to the prediction log (when enabled) under a request id, so
        ``tripcast feedback ingest`` can join its actual outcome later; close ``prediction.log`` before exit.
        """
        from tripcast.bootstrap import tracer_of

        tc = self.tripcast
        log: PredictionLog | None = None
        if logged:  # level: expert
            log = tc.feedback.prediction_log()
        return Prediction(PinnedModel(tc.registry, tc.settings.model_name, ref), log=log, tracer=tracer_of(tc.settings))

    def following_prediction(self) -> tuple[Prediction, ModelSource]:
        """Predictions by the champion, swapped when the alias moves; start and stop the source around use."""
        from tripcast.bootstrap import tracer_of

        tc = self.tripcast
        holder = ModelHolder(tc.registry, tc.settings.model_name, poll_seconds=tc.settings.registry_poll_seconds)
        log: PredictionLog | None = None
        log = tc.feedback.prediction_log()  # level: expert
        prediction = Prediction(holder, log=log, tracer=tracer_of(tc.settings))
        return prediction, holder  # stream: logged under event ids

    def stream_consumer(self, streams: StreamSettings) -> tuple[StreamScorer, ModelSource]:
        """A Redis Streams consumer scoring with the champion (the returned source: start and stop it)."""
        import redis

        from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

        prediction, models = self.following_prediction()
        url = streams.redis_url or self.tripcast.settings.cache_url or "redis://127.0.0.1:6379/0"
        scorer = StreamScorer(
            redis.Redis.from_url(url),
            StreamNames(streams.input, streams.output, streams.dead_letter, streams.group),
            prediction,
            consumer=streams.consumer,
            claim_idle_ms=streams.claim_idle_ms,
            max_deliveries=streams.max_deliveries,
        )
        return scorer, models


@dataclass(frozen=True)
class StreamSettings:
    """What ``tripcast stream`` was asked to consume and where it writes."""

    input: str
    output: str
    dead_letter: str
    group: str
    consumer: str
    redis_url: str | None = None
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5


class PinnedModel:
    """A model source serving one version, loaded on first use (``tripcast predict``, the dashboard)."""

    def __init__(
        self, registry: ModelRegistry, model_name: str, ref: str, loader: PredictorLoader | None = None
    ) -> None:
        self.registry = registry
        self.model_name = model_name
        self.ref = ref
        #: Loads the version (an experiment's arm: the server's optimised loader, like the champion's).
        self.loader: PredictorLoader = loader or registry.load_predictor
        self._loaded: LoadedModel | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._loaded

    @property
    def not_ready_reason(self) -> str:
        return "model not loaded yet"

    def require(self) -> LoadedModel:
        if self._loaded is None:
            version = self.registry.get(self.model_name, self.ref)
            predictor = self.loader(self.model_name, version.version)
            self._loaded = LoadedModel(predictor, version)
        return self._loaded

    def refresh(self, *, force: bool = False) -> RefreshOutcome:
        if force:
            self._loaded = None
        loaded = self.require()
        return RefreshOutcome(changed=force, version=loaded.number)

    def start(self, *, load_now: bool = True) -> None:
        if load_now:
            self.require()

    def stop(self) -> None:
        """Nothing runs in the background."""

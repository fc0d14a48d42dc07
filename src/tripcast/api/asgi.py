"""ASGI entry point built from settings, for ``uvicorn --factory tripcast.api.asgi:app_from_env``.

Multi-worker uvicorn needs an import string rather than an app object; each worker calls this factory
and wires its own adapters through the composition root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from tripcast.api.app import create_app
from tripcast.mlops.serving.real_time.metrics import ServingMetrics
from tripcast.settings import Settings

if TYPE_CHECKING:
    from tripcast.core.domain.model_spec import ModelSpec
    from tripcast.mlops.drift_detection.online import ServedModelDriftMonitor
    from tripcast.mlops.drift_detection.profile import ReferenceProfile


def drift_monitor_for(settings: Settings, spec: ModelSpec, metrics: ServingMetrics) -> ServedModelDriftMonitor | None:
    """The online drift monitor of the served version (its registered reference profile), gauges in ``metrics``."""
    if not settings.drift_monitoring_enabled:
        return None
    from tripcast.mlops.drift_detection.online import ServedModelDriftMonitor
    from tripcast.mlops.drift_detection.profile_store import load_reference_profile

    tracking_uri = settings.tracking_uri

    def load(name: str, version: str) -> ReferenceProfile:
        return load_reference_profile(tracking_uri, name, version)

    return ServedModelDriftMonitor(spec, load, metrics.registry, window_size=settings.drift_window_size)


def app_from_env(settings: Settings | None = None) -> FastAPI:
    """The prediction API wired from ``TRIPCAST_*`` settings via :func:`tripcast.bootstrap.bootstrap`.

    The registry connects on first use (:attr:`tripcast.bootstrap.Tripcast.serving_registry`): the
    server listens, and reports not ready, while the registry database is down.
    """
    from tripcast.bootstrap import bootstrap
    from tripcast.mlops.serving.real_time.deferred_registry import quiet_registry_outage_logs

    quiet_registry_outage_logs()
    tripcast = bootstrap(settings)
    metrics = ServingMetrics()
    return create_app(
        tripcast.settings,
        tripcast.serving_registry,
        feature_builder=tripcast.features,
        metrics=metrics,
        drift_monitor=drift_monitor_for(tripcast.settings, tripcast.features.spec, metrics),
    )

"""Wiring of the monitoring area: the drift service, the alert store and the zone feature store.

Everything slow to import or connect (MLflow, the audit database, the model) is built on first
use, so ``tripcast drift check`` with a cached reference profile and ``--no-predictions`` never
imports mlflow or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.ports.audit import AuditLog
from tripcast.core.services.drift import DriftMonitoring

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast

#: Reference profiles downloaded from the registry, keyed by model version and sha256, under the data folder.
PROFILE_CACHE_DIR = Path("cache") / "reference_profiles"


class DeferredAuditLog(AuditLog):
    """The audit log built on the first event: read-only use cases never open the audit database."""

    def __init__(self, build: Callable[[], AuditLog]) -> None:
        self._build = build
        self._log: AuditLog | None = None

    @property
    def log(self) -> AuditLog:
        if self._log is None:
            self._log = self._build()
        return self._log

    def record(self, event: AuditEvent) -> None:
        self.log.record(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        return self.log.events(subject_prefix, limit, actions)


def drift_monitoring(tc: Tripcast) -> DriftMonitoring:
    """The drift service over the root's feature builder (zone-store features when enabled) and registry."""
    from tripcast.data_engineering.features.trip_feature_source import TlcFeatureSource
    from tripcast.mlops.drift_detection.adapters import (
        FileReportWriter,
        RegistryPredictions,
        RegistryProfileStore,
        StatisticalDriftDetection,
        TableDecayEvaluator,
    )
    from tripcast.mlops.drift_detection.profile_store import MlflowProfileStore
    from tripcast.mlops.serving.real_time.deferred_registry import DeferredRegistry

    settings = tc.settings
    registry = DeferredRegistry(lambda: tc.registry)
    return DriftMonitoring(
        model_name=settings.model_name,
        features=TlcFeatureSource(settings.raw_path, settings.service, tc.validator, tc.features),
        profiles=RegistryProfileStore(
            MlflowProfileStore(settings.tracking_uri, cache_dir=settings.data_dir / PROFILE_CACHE_DIR)
        ),
        detection=StatisticalDriftDetection(),
        reports=FileReportWriter(settings.reports_path),
        predictions=RegistryPredictions(registry),
        decay=TableDecayEvaluator(),
        registry=registry,
        audit=DeferredAuditLog(lambda: tc.audit),
        clock=tc.clock,
    )


def alert_store(tc: Tripcast, state: Path | None = None) -> Any:
    """The alert state store (SQLite), by default ``<data_dir>/alerts.db``."""
    from tripcast.observability.alerting import AlertStore

    return AlertStore(state or tc.settings.data_dir / "alerts.db")


def zone_feature_store(tc: Tripcast, online_url: str | None = None) -> Any:
    """The zone feature store under ``settings.feature_store_path`` (default ``<data_dir>/feature_store``)."""
    from tripcast.data_engineering.features.store_features import store_settings_from
    from tripcast.mlops.feature_store.store import ZoneFeatureStore

    settings = tc.settings
    return ZoneFeatureStore(
        store_settings_from(settings.feature_store_path, online_url or settings.feature_store_online_url)
    )

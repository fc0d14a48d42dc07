"""Wiring of the monitoring area: the drift service, the alert store and the zone feature store.

Drift and the feature store are the intermediate level's ``mlops/``; alerting is advanced (observability).

Everything slow to import or connect (MLflow, the audit database, the model) is built on first
use, so ``tripcast drift check`` with a cached reference profile and ``--no-predictions`` never
imports mlflow or sqlalchemy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripcast.core.services.drift import DriftMonitoring
from tripcast.core.services.features import FeatureStoreService

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.core.services.alerting import AlertOperations  # level: advanced

#: Reference profiles downloaded from the registry, keyed by model version and sha256, under the data folder.
PROFILE_CACHE_DIR = Path("cache") / "reference_profiles"


def drift_monitoring(tc: Tripcast) -> DriftMonitoring:
    """The drift service over the root's feature builder (zone-store features when enabled) and registry."""
    from tripcast.bootstrap import tracer_of
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
        audit=tc.audit_on_first_use,
        clock=tc.clock,
        tracer=tracer_of(settings),
    )


def zone_feature_store(tc: Tripcast, online_url: str | None = None) -> Any:
    """The zone feature store under ``settings.feature_store_path`` (default ``<data_dir>/feature_store``)."""
    from tripcast.data_engineering.features.store_features import store_settings_from
    from tripcast.mlops.feature_store.store import ZoneFeatureStore

    settings = tc.settings
    return ZoneFeatureStore(
        store_settings_from(settings.feature_store_path, online_url or settings.feature_store_online_url)
    )


def alert_operations(tc: Tripcast) -> AlertOperations:  # level: advanced
    """Listing, silencing, acknowledging and raising alerts through Alertmanager (``TRIPCAST_ALERTMANAGER_URL``)."""
    from tripcast.core.services.alerting import AlertOperations
    from tripcast.observability.alerting.alertmanager import AlertmanagerGateway

    return AlertOperations(
        gateway=AlertmanagerGateway(tc.settings.alertmanager_url), audit=tc.audit_on_first_use, clock=tc.clock
    )


def alertmanager_config(config: Path) -> str:  # level: advanced
    """Alertmanager's configuration for the channels, routes and escalation of ``config``."""
    from tripcast.observability.alerting import load_config
    from tripcast.observability.alerting.alertmanager_config import render_alertmanager_config

    return render_alertmanager_config(load_config(config))


def prometheus_rules(config: Path) -> str:  # level: advanced
    """The Prometheus alerting rules for the rules of ``config``."""
    from tripcast.observability.alerting import load_config
    from tripcast.observability.alerting.prometheus_rules import render_prometheus_rules

    return render_prometheus_rules(load_config(config))


def feature_store_service(tc: Tripcast, online_url: str | None = None) -> FeatureStoreService:
    """Materializing the zone feature store, raw TLC files validated by the root's validator."""
    from tripcast.core.domain.errors import FieldProblem, InvalidInputError
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
    from tripcast.mlops.feature_store.maintenance import FeastZoneMaintenance

    def validated_tlc(path: Path) -> Any:
        month = month_from_file_name(path)
        if month is None:
            raise InvalidInputError([FieldProblem("tlc", f"{path.name}: file name states no month")])
        return tc.validator.split(RawDataset(read_tlc_file(path), month, str(path))).valid

    settings = tc.settings
    maintenance = FeastZoneMaintenance(
        zone_feature_store(tc, online_url),
        data_dir=settings.data_dir,
        processed_path=settings.processed_path,
        service=settings.service,
        validated_tlc=validated_tlc,
    )
    return FeatureStoreService(maintenance, tc.audit_on_first_use, tc.clock)


def served_drift_monitor(tc: Tripcast, metrics_registry: Any) -> Any:
    """The API's online drift monitor: follows the served version, gauges in ``metrics_registry``.

    None when ``drift_monitoring_enabled`` is off. Profiles come from the same sha256-keyed cache as
    ``tripcast drift check``, so a server restart or a worker start does not download them again.
    """
    if not tc.settings.drift_monitoring_enabled:
        return None
    from tripcast.mlops.drift_detection.online import ServedModelDriftMonitor
    from tripcast.mlops.drift_detection.profile_store import MlflowProfileStore

    store = MlflowProfileStore(tc.settings.tracking_uri, cache_dir=tc.settings.data_dir / PROFILE_CACHE_DIR)
    return ServedModelDriftMonitor(
        tc.features.spec, store.load, metrics_registry, window_size=tc.settings.drift_window_size
    )

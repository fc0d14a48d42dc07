"""The composition root: the one place that picks adapters for the ports.

Everything else receives its collaborators. Heavy adapters (MLflow) are built on
first use so that ``tripcast --help`` and data-only commands stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.ports.audit import AuditLog, VerifiableAuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import FeatureBuilder
from tripcast.core.ports.tracing import NO_TRACING, Tracer
from tripcast.core.ports.tracking import RegistrationHook
from tripcast.security.urls import mask_url
from tripcast.settings import Settings, load_settings

#: ``load_settings``, ``Settings`` and ``mask_url`` are re-exported for driving adapters, which import no
#: adapter module.
__all__ = [
    "Settings",
    "SystemClock",
    "Tripcast",
    "bind_log_context",
    "bootstrap",
    "configure_logs",
    "configure_traces",
    "load_settings",
    "mask_url",
    "tracer_of",
]

if TYPE_CHECKING:
    from tripcast.bootstrap.data import DataServices
    from tripcast.bootstrap.experiments import ExperimentServices  # level: expert
    from tripcast.bootstrap.feedback import FeedbackServices  # level: expert
    from tripcast.bootstrap.ingestion import IngestionServices
    from tripcast.bootstrap.ml import MlServices
    from tripcast.bootstrap.observability import ObservabilityServices  # level: advanced
    from tripcast.bootstrap.serving import ServingServices
    from tripcast.core.services.approval import Approvals  # level: expert
    from tripcast.core.services.audit import AuditTrailService
    from tripcast.core.services.batch_jobs import BatchJobs  # level: advanced
    from tripcast.core.services.batch_scoring import BatchScoring
    from tripcast.core.services.drift import DriftMonitoring  # level: intermediate
    from tripcast.core.services.model_card import ModelCards  # level: expert
    from tripcast.core.services.retraining import Retraining  # level: expert
    from tripcast.data_engineering.tlc.source import TlcFileSource
    from tripcast.data_engineering.tlc.store import ParquetDatasetStore
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.serving.real_time.deferred_registry import DeferredRegistry
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.baseline import LinearBaselineTrainer
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
    from tripcast.mlops.training.metrics import RegressionMetrics
    from tripcast.security.locks import FileLocks, PostgresAdvisoryLocks


class AuditOnFirstUse(AuditLog):
    """An audit log built by ``open_log`` when the first event is recorded or read."""

    def __init__(self, open_log: Callable[[], AuditLog]) -> None:
        self._open = open_log
        self._log: AuditLog | None = None

    def _opened(self) -> AuditLog:
        if self._log is None:
            self._log = self._open()
        return self._log

    def record(self, event: AuditEvent) -> None:
        self._opened().record(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        return self._opened().events(subject_prefix, limit, actions)


class SystemClock(Clock):
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Tripcast:
    """Adapters wired from settings; attributes are built lazily on first access."""

    settings: Settings
    local_source: Path | None = None
    allow_download: bool = True
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def source(self) -> TlcFileSource:
        from tripcast.data_engineering.tlc.download import TlcDownloader
        from tripcast.data_engineering.tlc.source import TlcFileSource

        downloader = None
        if self.allow_download:
            downloader = TlcDownloader(
                self.settings.tlc_base_url,
                self.settings.raw_path,
                retries=self.settings.download_retries,
                timeout=self.settings.download_timeout_seconds,
            )
        return TlcFileSource(
            self.settings.raw_path,
            service=self.settings.service,
            downloader=downloader,
            local_source=self.local_source,
        )

    @cached_property
    def validator(self) -> PanderaTripValidator:
        from tripcast.data_engineering.tlc.validation import PanderaTripValidator

        return PanderaTripValidator()

    @cached_property
    def store(self) -> ParquetDatasetStore:
        from tripcast.data_engineering.tlc.store import ParquetDatasetStore

        return ParquetDatasetStore(
            self.settings.processed_path, self.settings.quarantine_path, service=self.settings.service
        )

    @cached_property
    def features(self) -> FeatureBuilder:
        """The spine builder, or with ``feature_store_enabled`` the builder that adds the zone-store features."""
        from tripcast.data_engineering.features.trip_features import TripFeatureBuilder

        if self.settings.feature_store_enabled:  # level: intermediate
            from tripcast.data_engineering.features.store_features import (
                StoreBackedTripFeatureBuilder,
                store_settings_from,
            )

            store = store_settings_from(self.settings.feature_store_path, self.settings.feature_store_online_url)
            return StoreBackedTripFeatureBuilder(store, TripFeatureBuilder())
        return TripFeatureBuilder()

    @cached_property
    def trainer(self) -> LightGBMTrainer:
        from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

        return LightGBMTrainer(self.features.spec)

    @cached_property
    def baseline_trainer(self) -> LinearBaselineTrainer:
        from tripcast.mlops.training.baseline import LinearBaselineTrainer

        return LinearBaselineTrainer(self.features.spec)

    @cached_property
    def metrics(self) -> RegressionMetrics:
        from tripcast.mlops.training.metrics import RegressionMetrics

        return RegressionMetrics(self.features.spec)

    @cached_property
    def tracking_store_uri(self) -> str:
        """The tracking URI, once MLflow's tables exist there (created under a file lock, so processes
        starting together on a fresh store do not migrate it twice)."""
        from tripcast.mlops.tracking.schema import prepare_tracking_store

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        prepare_tracking_store(self.settings.tracking_uri, self.settings.artifact_location, self.locks.directory)
        return self.settings.tracking_uri

    @cached_property
    def tracker(self) -> MlflowTracker:
        from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker

        return MlflowTracker(
            self.tracking_store_uri,
            self.settings.experiment_name,
            artifact_location=self.settings.artifact_location,
        )

    @cached_property
    def audit(self) -> VerifiableAuditLog:
        from tripcast.security.audit_log import SqlAuditLog

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqlAuditLog(self.settings.audit_database_url, key=self.settings.audit_key.get_secret_value().encode())

    @cached_property
    def audit_on_first_use(self) -> AuditLog:
        """:attr:`audit`, opened on the first event recorded or read: read-only use cases (and a server
        starting while the audit database is down) never open it."""
        return AuditOnFirstUse(lambda: self.audit)

    @cached_property
    def audit_trail(self) -> AuditTrailService:
        """Reading, verifying and adopting the audit trail (``tripcast audit``)."""
        from tripcast.core.services.audit import AuditTrailService

        return AuditTrailService(self.audit, self.clock)

    @cached_property
    def locks(self) -> FileLocks:
        """Locks on this machine's data (validating or running the pipeline for a month)."""
        from tripcast.security.locks import FileLocks

        return FileLocks(self.settings.data_dir / "locks")

    @cached_property
    def registry_locks(self) -> FileLocks | PostgresAdvisoryLocks:
        """Locks around registry changes: advisory locks in the registry's PostgreSQL, else file locks."""
        from tripcast.security.locks import PostgresAdvisoryLocks

        if self.settings.tracking_uri.startswith("postgresql"):
            return PostgresAdvisoryLocks(self.settings.tracking_uri)
        return self.locks

    @cached_property
    def registration_hooks(self) -> list[RegistrationHook]:
        """Run after each registration: the drift reference profile (``ml.registration_hooks`` adds the
        compiled inference form when ``compile_on_register`` is on)."""
        from tripcast.mlops.drift_detection.registration_hook import ReferenceProfileHook  # level: intermediate

        hooks: list[RegistrationHook] = []
        hooks.append(ReferenceProfileHook(self.settings.tracking_uri, self.features.spec))  # level: intermediate
        return hooks

    @cached_property
    def registry(self) -> MlflowModelRegistry:
        from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

        return MlflowModelRegistry(self.tracking_store_uri, self.features)

    @cached_property
    def serving_registry(self) -> DeferredRegistry:
        """:attr:`registry` built on first use once its database answers: a server starts while it is down."""
        from tripcast.mlops.serving.real_time.deferred_registry import DeferredRegistry, probe_tracking_store

        tracking_uri = self.settings.tracking_uri
        return DeferredRegistry(lambda: self.registry, probe=lambda: probe_tracking_store(tracking_uri))

    @cached_property
    def scoring(self) -> BatchScoring:
        """Batch scoring of trip files (``tripcast score``), wired in :mod:`tripcast.bootstrap.scoring`."""
        from tripcast.bootstrap.scoring import build_batch_scoring

        return build_batch_scoring(self)

    @cached_property
    def ingestion(self) -> IngestionServices:
        """Ingestion (area: ingest): the service and the source behind each ``tripcast ingest --from``."""
        from tripcast.bootstrap.ingestion import IngestionServices

        return IngestionServices(self)

    @cached_property
    def ml(self) -> MlServices:
        """The model-lifecycle use cases: ``ml.training``, ``ml.promotion``, ``ml.optimization``."""
        from tripcast.bootstrap.ml import MlServices

        return MlServices(self)

    @cached_property  # level: intermediate
    def drift(self) -> DriftMonitoring:
        """Drift monitoring (area: monitoring): reference profiles, drift checks, model decay."""
        from tripcast.bootstrap.monitoring import drift_monitoring

        return drift_monitoring(self)

    @cached_property
    def serving(self) -> ServingServices:
        """The prediction use case for ``tripcast predict``, the dashboard and the stream consumer."""
        from tripcast.bootstrap.serving import ServingServices

        return ServingServices(self)

    @cached_property
    def data(self) -> DataServices:
        """Data use cases: validation (batch-wise, audited) and the monthly pipeline."""
        from tripcast.bootstrap.data import DataServices

        return DataServices(self)

    @cached_property  # level: expert
    def cards(self) -> ModelCards:
        """Model cards (area: cards, expert): ``tripcast models card VERSION``."""
        from tripcast.bootstrap.cards import build_model_cards

        return build_model_cards(self)

    @cached_property  # level: expert
    def approvals(self) -> Approvals:
        """The approval workflow (area: approvals, expert): request, approve, reject, then promote."""
        from tripcast.bootstrap.approvals import approvals

        return approvals(self)

    @cached_property  # level: advanced
    def batch_jobs(self) -> BatchJobs:
        """Batch job outcomes for Prometheus: the Pushgateway (``pushgateway_url``), else a textfile under
        ``<data_dir>/metrics`` for node-exporter."""
        from tripcast.core.services.batch_jobs import BatchJobs
        from tripcast.observability.jobs import PushgatewayJobMetrics, TextfileJobMetrics

        url = self.settings.pushgateway_url
        metrics = PushgatewayJobMetrics(url) if url else TextfileJobMetrics(self.settings.data_dir / "metrics")
        return BatchJobs(metrics=metrics, clock=self.clock)

    @cached_property  # level: advanced
    def observability(self) -> ObservabilityServices:
        """Observability (area): SLO spec, its Prometheus rules and budget report; Grafana dashboards."""
        from tripcast.bootstrap.observability import ObservabilityServices

        return ObservabilityServices(self)

    @cached_property  # level: expert
    def feedback(self) -> FeedbackServices:
        """Ground-truth feedback (area: feedback): prediction log, outcome ingest, live error."""
        from tripcast.bootstrap.feedback import FeedbackServices

        return FeedbackServices(self)

    @cached_property  # level: expert
    def retraining(self) -> Retraining:
        """Automated retraining (area: retraining, expert): triggers, a month's run, the guardrail."""
        from tripcast.bootstrap.retraining import build_retraining

        return build_retraining(self)

    @cached_property  # level: expert
    def experiments(self) -> ExperimentServices:
        """Experiments (area: experiments, expert): A/B, shadow and canary on served models."""
        from tripcast.bootstrap.experiments import ExperimentServices

        return ExperimentServices(self)


def bootstrap(
    settings: Settings | None = None,
    *,
    local_source: Path | None = None,
    allow_download: bool = True,
    clock: Clock | None = None,
) -> Tripcast:
    """Wire Tripcast from settings (environment and ``.env`` when not given); logs as the settings say."""
    settings = settings if settings is not None else Settings()
    configure_logs(settings)
    configure_traces(settings)
    return Tripcast(
        settings=settings,
        local_source=local_source,
        allow_download=allow_download,
        clock=clock if clock is not None else SystemClock(),
    )


def configure_logs(settings: Settings) -> None:
    """Structured log lines on stderr: JSON or console, at the settings' level (``tripcast.observability.logs``)."""
    from tripcast.observability.logs import configure_logging

    configure_logging(json_lines=settings.json_logs, level=settings.log_level)


def configure_traces(settings: Settings) -> bool:
    """Install OpenTelemetry's tracer provider when ``otel_exporter_endpoint`` is set; whether tracing is on.

    Off (the local default, and always below the advanced level), nothing of OpenTelemetry's SDK is imported.
    """
    tracing = False
    if settings.otel_exporter_endpoint is not None:  # level: advanced
        from tripcast.observability.tracing import configure_tracing

        tracing = configure_tracing(
            settings.otel_exporter_endpoint,
            sampling_ratio=settings.otel_sampling_ratio,
            service_name=settings.otel_service_name,
            environment=settings.env.value,
        )
    return tracing


def tracer_of(settings: Settings) -> Tracer:
    """The core's tracer: OpenTelemetry's when tracing is on (:func:`configure_traces`), else a no-op one."""
    tracer: Tracer = NO_TRACING
    if configure_traces(settings):  # level: advanced
        from tripcast.observability.tracing import OpenTelemetryTracer

        tracer = OpenTelemetryTracer()
    return tracer


def bind_log_context(**values: str) -> None:
    """Add ``values`` (a request id) to every log line of the current request or task (structured logs)."""
    from tripcast.observability.logs import bind_context

    bind_context(**values)

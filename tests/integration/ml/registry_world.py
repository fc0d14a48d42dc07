"""One real registry world for the lifecycle integration tests: MLflow tracking and registry, the signed audit
trail, file locks and the core Training/Promotion services over small slices of real months."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ml_fakes import FixedClock, MemoryDatasetStore

from tripcast.core.domain.month import Month
from tripcast.core.ports.ledger import PromotionLedger
from tripcast.core.services.promotion import Promotion
from tripcast.core.services.training import Training, TrainingPlan, TrainingReport
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
from tripcast.mlops.training.baseline import LinearBaselineTrainer
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
from tripcast.mlops.training.metrics import RegressionMetrics
from tripcast.security.audit_log import SqlAuditLog
from tripcast.security.locks import FileLocks

NAME = "trip-duration"
PLAN = TrainingPlan.consecutive(Month(2021, 1), NAME)


@dataclass
class RegistryWorld:
    """The adapters and services a lifecycle test drives; ``train`` registers a LightGBM of ``rounds`` rounds."""

    tracking_uri: str
    scratch: Path
    store: MemoryDatasetStore
    features: TripFeatureBuilder
    clock: FixedClock
    experiment: str
    ledger: PromotionLedger | None = None
    metrics: RegressionMetrics = field(init=False)
    tracker: MlflowTracker = field(init=False)
    registry: MlflowModelRegistry = field(init=False)
    audit: SqlAuditLog = field(init=False)
    promotion: Promotion = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = RegressionMetrics(self.features.spec)
        self.tracker = MlflowTracker(self.tracking_uri, self.experiment, (self.scratch / "artifacts").as_uri())
        self.registry = MlflowModelRegistry(self.tracking_uri, self.features)
        self.audit = SqlAuditLog(f"sqlite:///{self.scratch / 'audit.db'}", key=f"{self.experiment}-audit-key".encode())
        self.promotion = Promotion(
            registry=self.registry,
            store=self.store,
            features=self.features,
            metrics=self.metrics,
            clock=self.clock,
            audit=self.audit,
            locks=FileLocks(self.scratch / "locks"),
            ledger=self.ledger,
        )

    def train(self, rounds: int, *, advance: bool = False) -> TrainingReport:
        """Train and register a version on :data:`PLAN` (one minute later first, with ``advance``)."""
        if advance:
            self.clock.moment += timedelta(minutes=1)
        training = Training(
            store=self.store,
            features=self.features,
            trainer=LightGBMTrainer(self.features.spec, num_boost_round=rounds),
            baseline_trainer=LinearBaselineTrainer(self.features.spec),
            metrics=self.metrics,
            tracker=self.tracker,
            registry=self.registry,
            clock=self.clock,
            audit=self.audit,
        )
        return training.train_and_register(PLAN, actor="pytest")

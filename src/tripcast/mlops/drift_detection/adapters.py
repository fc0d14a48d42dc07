"""The drift machinery behind the ports of :mod:`tripcast.core.ports.drift`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.drift import (
    DecayEvaluator,
    DecayVerdict,
    DriftDetection,
    DriftProfile,
    DriftReportWriter,
    DriftSettings,
    DriftVerdict,
    PredictionSource,
    ReferenceProfileStore,
)
from tripcast.core.ports.table import Table
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.mlops.drift_detection.detector import DriftConfig, DriftDetector, DriftReport
from tripcast.mlops.drift_detection.profile import ReferenceProfile
from tripcast.mlops.drift_detection.profile_store import MlflowProfileStore


class StatisticalDriftDetection(DriftDetection):
    """Profiles and checks with :class:`ReferenceProfile` and :class:`DriftDetector` (Evidently's rules)."""

    def profile(self, spec: ModelSpec, features: Table, predictions: Any, metadata: dict[str, str]) -> DriftProfile:
        return ReferenceProfile.build(spec, features, predictions, metadata=metadata)

    def check(
        self,
        spec: ModelSpec,
        profile: DriftProfile,
        features: Table,
        predictions: Any,
        settings: DriftSettings,
        metadata: dict[str, str],
    ) -> DriftVerdict:
        config = DriftConfig(
            drift_share=settings.drift_share, thresholds=settings.thresholds, min_rows=settings.min_rows
        )
        detector = DriftDetector(spec, cast(ReferenceProfile, profile), config)
        return detector.check(features, predictions, metadata=metadata)


class RegistryProfileStore(ReferenceProfileStore):
    """Profiles attached to MLflow runs of registered versions, behind a local cache."""

    def __init__(self, store: MlflowProfileStore) -> None:
        self.store = store

    def load(self, model_name: str, ref: str) -> DriftProfile:
        return self.store.load(model_name, ref)

    def load_file(self, path: str) -> DriftProfile:
        return ReferenceProfile.from_json(Path(path).read_text())

    def save(self, run_id: str, profile: DriftProfile) -> str:
        return self.store.save(run_id, cast(ReferenceProfile, profile))

    def run_of(self, model_name: str, ref: str) -> tuple[str, str]:
        return self.store.run_of(model_name, ref)


class FileReportWriter(DriftReportWriter):
    """JSON and self-contained HTML files, by default under the reports folder."""

    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = reports_dir

    def write(self, report: DriftVerdict, profile: DriftProfile, stem: str, directory: str | None = None) -> list[str]:
        from tripcast.mlops.drift_detection.html_report import write_report_files

        folder = Path(directory) if directory else self.reports_dir
        paths = write_report_files(cast(DriftReport, report), cast(ReferenceProfile, profile), folder, stem)
        return [str(p) for p in paths]

    def write_text(self, text: str, path: str) -> str:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return str(target)


class RegistryPredictions(PredictionSource):
    """Predictions of a registered version, loaded through the model registry."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def predict(self, model_name: str, ref: str, features: Table) -> Any:
        predictor = self.registry.load_predictor(model_name, ref)
        return np.asarray(predictor.predict_features(features), dtype=np.float64).ravel()


class TableDecayEvaluator(DecayEvaluator):
    """Prediction and outcome tables (parquet or CSV files) judged by :class:`ModelDecayMonitor`."""

    def read(self, location: str) -> Table:
        return read_table(location)

    def evaluate(
        self,
        predictions: Table,
        actuals: Table,
        *,
        validation_rmse: float,
        key: str,
        tolerance: float,
        window_rows: int,
    ) -> DecayVerdict:
        from tripcast.mlops.drift_detection.decay import ModelDecayMonitor

        monitor = ModelDecayMonitor(validation_rmse, tolerance=tolerance, window_rows=window_rows)
        return monitor.evaluate(predictions, actuals, on=key)


def read_table(location: str) -> Any:
    """A parquet or CSV file as a DataFrame, with an error naming the file when it is neither."""
    import pandas as pd

    from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError

    path = Path(location)
    if not path.is_file():
        raise NotFoundError(f"{location}: no such file")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    if path.suffix.lower() in {".csv", ".gz"}:
        return pd.read_csv(path)
    raise InvalidInputError([FieldProblem("file", f"{path.name}: expected a .parquet or .csv table")])

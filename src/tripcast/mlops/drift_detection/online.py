"""Online drift monitoring: a sliding window of served rows, judged against the reference profile.

``observe`` is on the serving path, so it only copies rows into a preallocated ring buffer
under a lock. ``evaluate`` (called by a background task or a scrape hook) runs the drift
tests on the window and publishes Prometheus gauges.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry, Gauge

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.serving import DistributionComparison
from tripcast.mlops.drift_detection.detector import DriftConfig, DriftDetector, DriftReport
from tripcast.mlops.drift_detection.distributions import numeric_shares, summarise_numeric
from tripcast.mlops.drift_detection.profile import ReferenceProfile

log = logging.getLogger(__name__)

#: Loads the reference profile of a served model version: ``loader(model_name, version)``.
ProfileLoader = Callable[[str, str], ReferenceProfile]


class OnlineDriftMonitor:
    """Keeps the last ``window_size`` feature rows and predictions; ``evaluate`` sets drift gauges.

    Gauges (labels ``model`` and, per feature, ``feature`` and ``method``):
    ``tripcast_drift_feature_score``, ``tripcast_drift_feature_drifted``,
    ``tripcast_drift_dataset_share``, ``tripcast_drift_dataset_drifted``,
    ``tripcast_drift_prediction_score``, ``tripcast_drift_prediction_drifted``,
    ``tripcast_drift_window_rows``.
    """

    def __init__(
        self,
        spec: ModelSpec,
        profile: ReferenceProfile,
        window_size: int = 10_000,
        registry: CollectorRegistry | None = None,
        config: DriftConfig | None = None,
        min_rows: int = 100,
    ) -> None:
        if window_size < 1:
            raise InvalidInputError([FieldProblem("window_size", f"must be at least 1, got {window_size}")])
        self.spec = spec
        self.detector = DriftDetector(spec, profile, config)
        self.window_size = window_size
        self.min_rows = min_rows
        self._features = np.full((window_size, len(spec.features)), np.nan)
        self._predictions = np.full(window_size, np.nan)
        self._next = 0
        self._filled = 0
        self._lock = threading.Lock()
        self._labels = {"model": spec.name}
        registry = registry if registry is not None else CollectorRegistry()
        self.feature_score = Gauge(
            "tripcast_drift_feature_score", "Drift score per feature (distance or p-value, see method)",
            ["model", "feature", "method"], registry=registry,
        )  # fmt: skip
        self.feature_drifted = Gauge(
            "tripcast_drift_feature_drifted", "1 when the feature drifted in the current window",
            ["model", "feature"], registry=registry,
        )  # fmt: skip
        self.dataset_share = Gauge(
            "tripcast_drift_dataset_share", "Share of features that drifted", ["model"], registry=registry
        )
        self.dataset_drifted = Gauge(
            "tripcast_drift_dataset_drifted", "1 when the drifted share reaches the dataset threshold", ["model"],
            registry=registry,
        )  # fmt: skip
        self.prediction_score = Gauge(
            "tripcast_drift_prediction_score", "Drift score of the predictions", ["model", "method"], registry=registry
        )
        self.prediction_drifted = Gauge(
            "tripcast_drift_prediction_drifted", "1 when predictions drifted", ["model"], registry=registry
        )
        self.window_rows = Gauge("tripcast_drift_window_rows", "Rows in the drift window", ["model"], registry=registry)

    def observe(self, feature_rows: np.ndarray, predictions: Any = None) -> None:
        """Add rows (shape ``(n, n_features)`` in spec order, categorical codes as numbers) to the window."""
        rows = np.asarray(feature_rows, dtype=np.float64)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(self.spec.features):
            raise InvalidInputError(
                [FieldProblem("feature_rows", f"expected shape (n, {len(self.spec.features)}), got {rows.shape}")]
            )
        preds = np.full(len(rows), np.nan) if predictions is None else np.asarray(predictions, dtype=np.float64)
        if preds.shape != (len(rows),):
            raise InvalidInputError([FieldProblem("predictions", f"expected {len(rows)} values, got {preds.shape}")])
        if len(rows) > self.window_size:
            rows, preds = rows[-self.window_size :], preds[-self.window_size :]
        with self._lock:
            start = self._next
            end = start + len(rows)
            if end <= self.window_size:
                self._features[start:end] = rows
                self._predictions[start:end] = preds
            else:
                split = self.window_size - start
                self._features[start:] = rows[:split]
                self._predictions[start:] = preds[:split]
                self._features[: end - self.window_size] = rows[split:]
                self._predictions[: end - self.window_size] = preds[split:]
            self._next = end % self.window_size
            self._filled = min(self.window_size, self._filled + len(rows))

    @property
    def n_rows(self) -> int:
        return self._filled

    def reset(self, profile: ReferenceProfile) -> None:
        """Judge against ``profile`` from now on and empty the window (its rows belong to the old reference)."""
        detector = DriftDetector(self.spec, profile, self.detector.config)
        with self._lock:
            self.detector = detector
            self._features[:] = np.nan
            self._predictions[:] = np.nan
            self._next = 0
            self._filled = 0

    def evaluate(self) -> DriftReport | None:
        """Drift of the current window, published as gauges; None while fewer than ``min_rows`` rows."""
        with self._lock:
            filled = self._filled
            features = self._features[:filled].copy()
            predictions = self._predictions[:filled].copy()
        self.window_rows.labels(**self._labels).set(filled)
        if filled < max(self.min_rows, self.detector.config.min_rows):
            return None  # too few rows to judge: the gauges keep no verdict for this window
        frame = pd.DataFrame(features, columns=self.spec.feature_names)
        has_predictions = bool(np.isfinite(predictions).any())
        report = self.detector.check(frame, predictions if has_predictions else None)
        for column in report.columns:
            self.feature_score.labels(feature=column.column, method=column.method.value, **self._labels).set(
                column.score
            )
            self.feature_drifted.labels(feature=column.column, **self._labels).set(int(column.drifted))
        self.dataset_share.labels(**self._labels).set(report.share_drifted)
        self.dataset_drifted.labels(**self._labels).set(int(report.dataset_drift))
        if report.prediction is not None:
            self.prediction_score.labels(method=report.prediction.method.value, **self._labels).set(
                report.prediction.score
            )
            self.prediction_drifted.labels(**self._labels).set(int(report.prediction.drifted))
        return report

    def prediction_distribution(self, bins: int = 20) -> DistributionComparison | None:
        """The window's predictions vs the reference profile's, binned as the HTML drift report does (None
        without predictions on either side)."""
        with self._lock:
            predictions = self._predictions[: self._filled].copy()
            reference = self.detector.profile.prediction
        predictions = predictions[np.isfinite(predictions)]
        if reference is None or reference.atoms.n == 0 or predictions.size == 0:
            return None
        edges, ref_shares, cur_shares = numeric_shares(reference.atoms, summarise_numeric(predictions), bins)
        return DistributionComparison(
            edges=edges.tolist(), reference=ref_shares.tolist(), current=cur_shares.tolist(),
            n_reference=reference.atoms.n, n_current=int(predictions.size),
        )  # fmt: skip


class ServedModelDriftMonitor:
    """Online drift monitoring that follows the served model version (what a serving app injects).

    ``on_model(name, version)`` loads that version's reference profile (once per version) and resets
    the window; a version without a profile is logged as a warning and served unmonitored until the
    next version. ``observe`` and ``evaluate`` are no-ops while no profile is loaded. The gauges of
    :class:`OnlineDriftMonitor` are registered once, in ``registry`` (the serving app's registry).
    """

    def __init__(
        self,
        spec: ModelSpec,
        profile_loader: ProfileLoader,
        registry: CollectorRegistry,
        *,
        window_size: int = 10_000,
        config: DriftConfig | None = None,
        min_rows: int = 100,
    ) -> None:
        self.spec = spec
        self.profile_loader = profile_loader
        self.registry = registry
        self.window_size = window_size
        self.config = config
        self.min_rows = min_rows
        self.monitor: OnlineDriftMonitor | None = None
        self.active = False
        self._key: tuple[str, str] | None = None
        self._load_lock = threading.Lock()

    @property
    def model_key(self) -> tuple[str, str] | None:
        """``(name, version)`` whose profile was last looked up (loaded or found missing)."""
        return self._key

    def on_model(self, name: str, version: str) -> bool:
        """Follow a newly served version; True when drift is monitored for it."""
        with self._load_lock:
            if self._key == (name, version):
                return self.active
            try:
                profile = self.profile_loader(name, version)
            except Exception as exc:  # noqa: BLE001 - a missing profile must never stop serving
                self._key, self.active = (name, version), False
                log.warning("%s v%s has no usable drift reference profile (%s); serving without drift monitoring",
                            name, version, exc)  # fmt: skip
                return False
            if self.monitor is None:
                self.monitor = OnlineDriftMonitor(
                    self.spec, profile, self.window_size, self.registry, self.config, self.min_rows
                )
            else:
                self.monitor.reset(profile)
            self._key, self.active = (name, version), True
            log.info("drift monitoring %s v%s against its reference profile", name, version)
            return True

    def observe(self, feature_rows: np.ndarray, predictions: Any = None) -> None:
        """Add served rows to the window (a no-op while unmonitored)."""
        monitor = self.monitor
        if self.active and monitor is not None:
            monitor.observe(feature_rows, predictions)

    def evaluate(self) -> DriftReport | None:
        """Run the drift tests on the window and set the gauges (None while unmonitored or too few rows)."""
        monitor = self.monitor
        if not self.active or monitor is None:
            return None
        return monitor.evaluate()

    def prediction_distribution(self, bins: int = 20) -> DistributionComparison | None:
        """The served predictions vs the served version's reference (None while unmonitored)."""
        monitor = self.monitor
        if not self.active or monitor is None:
            return None
        return monitor.prediction_distribution(bins)

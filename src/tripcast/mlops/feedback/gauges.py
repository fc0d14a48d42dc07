"""Live error as Prometheus gauges: RMSE/MAE per version and segment, and the concept-drift verdict."""

from __future__ import annotations

from typing import Any


class PrometheusFeedbackGauges:
    """``tripcast_live_rmse``, ``tripcast_live_mae`` (per version, segment ``all`` or a slice) and
    ``tripcast_concept_drift`` (1 when the version's latest window decayed) in ``registry``."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        self.registry = registry if registry is not None else CollectorRegistry()
        labels = ["model", "version", "segment"]
        self.rmse = Gauge("tripcast_live_rmse", "Live RMSE from ground truth", labels, registry=self.registry)
        self.mae = Gauge("tripcast_live_mae", "Live MAE from ground truth", labels, registry=self.registry)
        self.rows = Gauge("tripcast_live_labeled_rows", "Predictions with ground truth", labels, registry=self.registry)
        self.drift = Gauge(
            "tripcast_concept_drift",
            "1 when live error exceeds validation RMSE by the tolerance",
            ["model", "version"],
            registry=self.registry,
        )

    def publish(self, report: Any) -> None:
        for item in [*report.by_version, *report.by_segment]:
            labels = (report.model_name, item.model_version, item.segment or "all")
            self.rmse.labels(*labels).set(item.rmse)
            self.mae.labels(*labels).set(item.mae)
            self.rows.labels(*labels).set(item.n)
        for version, verdict in report.decay.items():
            if "decayed" in verdict:
                self.drift.labels(report.model_name, version).set(1.0 if verdict["decayed"] else 0.0)

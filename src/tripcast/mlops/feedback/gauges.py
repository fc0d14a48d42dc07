"""Live error as Prometheus gauges: RMSE/MAE per version and segment, and the concept-drift verdict."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)


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


class LiveErrorCollector:
    """A Prometheus collector for a serving process's ``/metrics``: the gauges of :class:`PrometheusFeedbackGauges`
    from ``report()``, recomputed at most every ``refresh_seconds`` (a scrape never waits on more than one query).

    A failing report (the log's database down) keeps the last families and logs a warning: metrics never
    break a scrape.
    """

    def __init__(self, report: Callable[[], Any], refresh_seconds: float = 60.0) -> None:
        self.report = report
        self.refresh_seconds = refresh_seconds
        self._families: list[Any] = []
        self._computed_at: float | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Any]:
        return []  # unknown until the first report: registering must not compute it

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = time.monotonic()
            if self._computed_at is None or now - self._computed_at >= self.refresh_seconds:
                self._computed_at = now
                try:
                    gauges = PrometheusFeedbackGauges()
                    gauges.publish(self.report())
                    self._families = list(gauges.registry.collect())
                except Exception:  # a metrics scrape must not fail on the log's database
                    log.warning("live error metrics not refreshed", exc_info=True)
            families = list(self._families)
        return iter(families)

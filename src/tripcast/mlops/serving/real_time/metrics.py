"""Prometheus metrics of the serving layer, kept in their own registry.

A private :class:`~prometheus_client.CollectorRegistry` per app lets several apps live in one process
(tests, benchmarks) without "duplicated timeseries" errors.

Several worker processes (``tripcast serve --workers N``) use prometheus_client's multiprocess mode:
with ``PROMETHEUS_MULTIPROC_DIR`` set before the workers start, every metric writes to a file there and
:func:`exposition` merges all workers' files, so whichever worker answers a scrape reports the whole
server: counters and histograms summed, the in-flight gauge summed over live workers, and the model-info
gauge per live worker (a ``pid`` label), which shows a worker still serving an old version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

# No ``*_created`` series (one per counter and histogram child, the time it was first used): nothing Tripcast
# queries reads them, and they were an eighth of a scrape's lines and of its cost (benchmarks/metrics_scrape).
disable_created_metrics()

#: The environment variable prometheus_client reads, at import, to switch to multiprocess mode.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Content type of :func:`exposition`'s output.
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    """Where workers' metric files live when several processes serve, else None (one process).

    Decided by what prometheus_client chose when it was imported, not by the environment now: a
    library imported later may set the variable (Feast's metrics module does), and metrics created
    in memory must then still be exposed from memory.
    """
    if prometheus_values.ValueClass is prometheus_values.MutexValue:
        return None
    return os.environ.get(MULTIPROCESS_DIR_ENV) or None


def exposition(registry: CollectorRegistry, on_scrape: CollectorRegistry | None = None) -> bytes:
    """Prometheus text for a scrape: ``registry``'s metrics, or every worker's when in multiprocess mode."""
    return negotiated_exposition(registry, "", on_scrape)[0]


def negotiated_exposition(
    registry: CollectorRegistry, accept: str, on_scrape: CollectorRegistry | None = None
) -> tuple[bytes, str]:
    """(body, content type) in the format the scraper's ``Accept`` header asks for: OpenMetrics (which carries
    the latency histogram's exemplars, the trace ids of sampled requests) or Prometheus text.

    ``on_scrape`` holds this process's collectors computed on scrape (:attr:`ServingMetrics.on_scrape`, also
    inside ``registry``): with several workers, the merge of their files is exposed with these beside it.
    """
    encode, content_type = choose_encoder(accept)
    if multiprocess_dir() is None:
        return encode(registry), content_type
    files = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(files)  # no exemplars across workers (prometheus_client)
    families = list(files.collect())
    if on_scrape is not None:
        families += on_scrape.collect()
    return encode(cast(CollectorRegistry, _Families(families))), content_type


class _Families:
    """Already collected families, in the shape an encoder reads (``collect()``)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def forget_this_worker() -> None:
    """Drop this process's live gauges from the shared files (at worker shutdown, multiprocess mode only)."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(os.getpid())


#: Request latencies in seconds: sub-millisecond to the timeout.
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Model call latencies in seconds: microseconds matter here.
PREDICTION_BUCKETS = (0.00001, 0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25)


class ServingMetrics:
    """Request, prediction, cache and model-reload metrics of one serving process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        #: Collectors computed on scrape (live error from the prediction log): exposed with :attr:`registry`
        #: (registered inside it) and, with several workers, beside the merge of the workers' files.
        self.on_scrape = CollectorRegistry()
        self.registry.register(self.on_scrape)
        r = self.registry
        self.requests = Counter(
            "tripcast_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "tripcast_http_request_duration_seconds",
            "HTTP request latency by route and status",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "tripcast_http_requests_in_flight",
            "Prediction requests being served",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.rejected = Counter(
            "tripcast_http_requests_rejected_total", "Requests refused to protect the server", ["reason"], registry=r
        )
        self.prediction_latency = Histogram(
            "tripcast_prediction_duration_seconds",
            "Model call latency (cache misses only), per call",
            ["model_version"],
            buckets=PREDICTION_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "tripcast_predictions_total",
            "Predictions served, by model version",
            ["model_name", "model_version"],
            registry=r,
        )
        self._cache_and_model_metrics(r)
        self._experiment_metrics(r)

    def _cache_and_model_metrics(self, r: CollectorRegistry) -> None:
        """The prediction cache's and the model loader's metrics."""
        self.cache_hits = Counter("tripcast_prediction_cache_hits_total", "Predictions answered from cache", registry=r)
        self.cache_misses = Counter("tripcast_prediction_cache_misses_total", "Predictions not in cache", registry=r)
        self.cache_errors = Counter(
            "tripcast_prediction_cache_errors_total", "Cache calls that failed (served without cache)", registry=r
        )
        self.model_reloads = Counter(
            "tripcast_model_reloads_total", "Model loads, by outcome (success/failure)", ["outcome"], registry=r
        )
        self.model_info = Gauge(
            "tripcast_model_info",
            "1 for the model version being served",
            ["model_name", "model_version"],
            registry=r,
            multiprocess_mode="liveall",
        )

    def _experiment_metrics(self, r: CollectorRegistry) -> None:
        """The traffic split's metrics (issue #14), registered once with the others."""
        self.experiment_exposures = Counter(
            "tripcast_experiment_exposures_total",
            "Exposures queued, by experiment and arm (shadow scores included)",
            ["experiment", "arm"],
            registry=r,
        )
        self.experiment_fallbacks = Counter(
            "tripcast_experiment_fallbacks_total",
            "Requests of a running experiment answered by the served model with no exposure, by reason",
            ["experiment", "reason"],
            registry=r,
        )
        self.experiment_arms_loaded = Gauge(
            "tripcast_experiment_arms_loaded",
            "Arms of the running experiment whose model is loaded (the least-ready worker's count)",
            ["experiment"],
            registry=r,
            multiprocess_mode="livemin",
        )
        self.experiment_target_share = Gauge(
            "tripcast_experiment_arm_target_share",
            "The share of the experiment's exposures each arm should get now",
            ["experiment", "arm"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self._share_arms: dict[str, set[str]] = {}
        self._arm_rows: set[tuple[str, str, str]] = set()
        self.experiment_arm_info = Gauge(
            "tripcast_experiment_arm_info",
            "1 for each arm of a served experiment and the model version answering it",
            ["experiment", "arm", "model_version"],
            registry=r,
            multiprocess_mode="livemax",
        )

    # The traffic split's metrics port (tripcast.core.ports.experiments.ExperimentMetrics).

    def experiment_exposed(self, experiment: str, arm: str, count: int) -> None:
        """``count`` exposures of ``arm`` queued."""
        self.experiment_exposures.labels(experiment, arm).inc(count)

    def experiment_fallback(self, experiment: str, reason: str) -> None:
        """A request of ``experiment`` answered by the served model, nothing exposed."""
        self.experiment_fallbacks.labels(experiment, reason).inc()

    def experiment_arms(self, experiment: str, loaded: int, arms: dict[str, str]) -> None:
        """How many arms are loaded; which version answers each arm (cleared when empty)."""
        self.experiment_arms_loaded.labels(experiment).set(loaded)
        rows = {(experiment, arm, version) for arm, version in arms.items()}
        for stale in {row for row in self._arm_rows if row[0] == experiment} - rows:
            self.experiment_arm_info.labels(*stale).set(0)  # 0, not removed: multiprocess files cannot remove
        for row in rows:
            self.experiment_arm_info.labels(*row).set(1)
        self._arm_rows = {row for row in self._arm_rows if row[0] != experiment} | rows

    def experiment_shares(self, experiment: str, shares: dict[str, float]) -> None:
        """Each arm's target share now (0 for every arm once the experiment is no longer served)."""
        for arm in self._share_arms.get(experiment, set()) - set(shares):
            self.experiment_target_share.labels(experiment, arm).set(0)
        for arm, share in shares.items():
            self.experiment_target_share.labels(experiment, arm).set(share)
        self._share_arms[experiment] = self._share_arms.get(experiment, set()) | set(shares)

    # The prediction use case's metrics port (tripcast.core.ports.serving.PredictionMetrics).

    def model_answered(self, model_name: str, model_version: str, count: int, seconds: float) -> None:
        """One model call: its latency (cache misses only)."""
        self.prediction_latency.labels(model_version).observe(seconds)

    def served(self, model_name: str, model_version: str, count: int) -> None:
        """Predictions answered by ``model_version`` (cache hits included)."""
        self.predictions.labels(model_name, model_version).inc(count)

    def cache_outcome(self, hits: int, misses: int) -> None:
        """Cache hits and misses of one lookup."""
        self.cache_hits.inc(hits)
        self.cache_misses.inc(misses)

    def cache_failed(self) -> None:
        """A cache read or write failed (the request was served without the cache)."""
        self.cache_errors.inc()

"""Prometheus metrics of the serving layer, kept in their own registry.

A private :class:`~prometheus_client.CollectorRegistry` per app lets several apps live in one process
(tests, benchmarks) without "duplicated timeseries" errors. With several uvicorn workers each worker
exposes its own numbers; scrape each worker or use prometheus_client's multiprocess mode.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Request latencies in seconds: sub-millisecond to the timeout.
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Model call latencies in seconds: microseconds matter here.
PREDICTION_BUCKETS = (0.00001, 0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25)


class ServingMetrics:
    """Request, prediction, cache and model-reload metrics of one serving process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
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
        self.in_flight = Gauge("tripcast_http_requests_in_flight", "Prediction requests being served", registry=r)
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
        self.cache_hits = Counter("tripcast_prediction_cache_hits_total", "Predictions answered from cache", registry=r)
        self.cache_misses = Counter("tripcast_prediction_cache_misses_total", "Predictions not in cache", registry=r)
        self.cache_errors = Counter(
            "tripcast_prediction_cache_errors_total", "Cache calls that failed (served without cache)", registry=r
        )
        self.model_reloads = Counter(
            "tripcast_model_reloads_total", "Model loads, by outcome (success/failure)", ["outcome"], registry=r
        )
        self.model_info = Gauge(
            "tripcast_model_info", "1 for the model version being served", ["model_name", "model_version"], registry=r
        )

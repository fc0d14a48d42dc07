"""/metrics exposition: in-memory metrics stay exposed when a library later sets the multiprocess variable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import GaugeMetricFamily

from tripcast.mlops.serving.real_time.metrics import (
    MULTIPROCESS_DIR_ENV,
    ServingMetrics,
    exposition,
    multiprocess_dir,
)


def test_a_variable_set_after_import_does_not_hide_in_memory_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = ServingMetrics()
    metrics.predictions.labels("trip-duration", "3").inc(2)
    # What importing feast.metrics does to a process whose prometheus_client is already loaded.
    monkeypatch.setenv(MULTIPROCESS_DIR_ENV, str(tmp_path))
    assert multiprocess_dir() is None
    text = exposition(metrics.registry).decode()
    assert 'tripcast_predictions_total{model_name="trip-duration",model_version="3"} 2.0' in text


MULTIPROCESS_SCRAPE = """
from prometheus_client.metrics_core import GaugeMetricFamily
from tripcast.mlops.serving.real_time.metrics import ServingMetrics, exposition, multiprocess_dir

class LiveError:  # a custom collector computed on scrape, like the prediction log's live error
    def describe(self):
        return []

    def collect(self):
        family = GaugeMetricFamily("tripcast_live_rmse", "Live RMSE", labels=["version"])
        family.add_metric(["3"], 4.5)
        yield family

assert multiprocess_dir() is not None
metrics = ServingMetrics()
metrics.predictions.labels("trip-duration", "3").inc(2)
metrics.on_scrape.register(LiveError())
print(exposition(metrics.registry, metrics.on_scrape).decode())
"""


def test_with_several_workers_custom_collectors_are_exposed_beside_the_merged_files(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, MULTIPROCESS_DIR_ENV: str(tmp_path)}  # set before prometheus_client is imported
    done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRAPE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert 'tripcast_live_rmse{version="3"} 4.5' in text  # the custom collector's family
    assert 'tripcast_predictions_total{model_name="trip-duration",model_version="3"} 2.0' in text  # from the files
    assert text.count("# TYPE tripcast_predictions_total counter") == 1  # once: not again from this process


def test_in_one_process_collectors_computed_on_scrape_are_in_the_registry() -> None:
    metrics = ServingMetrics()
    metrics.on_scrape.register(FixedGauge())
    assert 'tripcast_live_rmse{version="3"} 4.5' in exposition(metrics.registry).decode()


class FixedGauge:
    def describe(self) -> list[object]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("tripcast_live_rmse", "Live RMSE", labels=["version"])
        family.add_metric(["3"], 4.5)
        yield family

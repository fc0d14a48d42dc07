"""/metrics exposition: in-memory metrics stay exposed when a library later sets the multiprocess variable."""

from __future__ import annotations

from pathlib import Path

import pytest

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

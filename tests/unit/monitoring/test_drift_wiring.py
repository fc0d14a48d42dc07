"""The composition root hands the drift service its own feature builder (zone-store features when enabled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.bootstrap import bootstrap
from tripcast.settings import Settings


@pytest.mark.parametrize(("enabled", "spec_name"), [(False, "trip-duration"), (True, "trip-duration-store")])
def test_drift_judges_the_features_the_model_is_trained_on(tmp_path: Path, enabled: bool, spec_name: str) -> None:
    tc = bootstrap(Settings(data_dir=tmp_path, feature_store_enabled=enabled))
    service = tc.drift
    assert service.features.spec is tc.features.spec and service.features.spec.name == spec_name
    assert tc.drift is service  # one service per root


def test_the_served_drift_monitor_follows_the_setting(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry

    from tripcast.bootstrap.monitoring import served_drift_monitor

    off = bootstrap(Settings(data_dir=tmp_path, drift_monitoring_enabled=False))
    assert served_drift_monitor(off, CollectorRegistry()) is None
    monitor = served_drift_monitor(
        bootstrap(Settings(data_dir=tmp_path, drift_monitoring_enabled=True)), CollectorRegistry()
    )
    assert monitor is not None and monitor.spec.name == "trip-duration" and not monitor.active

"""ServedModelDriftMonitor: follows the served version, resets its window, tolerates versions without a profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.mlops.drift_detection.online import ServedModelDriftMonitor
from tripcast.mlops.drift_detection.profile import ReferenceProfile

SPEC = ModelSpec(
    name="toy",
    features=(FeatureSpec("x", FeatureKind.NUMERIC), FeatureSpec("c", FeatureKind.CATEGORICAL)),
    target="y",
)


def profile(shift: float = 0.0, n: int = 2000) -> ReferenceProfile:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(shift, 1.0, n), "c": rng.integers(0, 4, n)})
    return ReferenceProfile.build(SPEC, frame, rng.normal(10, 2, n))


def rows(shift: float, n: int = 500) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.column_stack([rng.normal(shift, 1.0, n), rng.integers(0, 4, n)])


class Profiles:
    """Version -> profile; versions missing from the dict raise like the MLflow profile store does."""

    def __init__(self, by_version: dict[str, ReferenceProfile]) -> None:
        self.by_version = by_version
        self.loads: list[tuple[str, str]] = []

    def __call__(self, name: str, version: str) -> ReferenceProfile:
        self.loads.append((name, version))
        if version not in self.by_version:
            raise NotFoundError(f"{name} v{version} has no reference profile")
        return self.by_version[version]


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"model": "toy", **labels})


def test_follows_versions_and_publishes_into_the_given_registry() -> None:
    registry = CollectorRegistry()
    profiles = Profiles({"1": profile(0.0), "2": profile(5.0)})
    monitor = ServedModelDriftMonitor(SPEC, profiles, registry, window_size=1000, min_rows=100)

    assert monitor.on_model("toy", "1") is True
    assert monitor.on_model("toy", "1") is True and profiles.loads == [("toy", "1")]  # loaded once
    monitor.observe(rows(5.0), np.full(500, 10.0))
    report = monitor.evaluate()
    assert report is not None and {c.column: c.drifted for c in report.columns}["x"] is True
    assert gauge(registry, "tripcast_drift_feature_drifted", feature="x") == 1
    assert gauge(registry, "tripcast_drift_window_rows") == 500

    # Version 2's reference is centred on 5: the window is emptied, and the same rows no longer drift.
    assert monitor.on_model("toy", "2") is True
    assert monitor.monitor is not None and monitor.monitor.n_rows == 0
    monitor.observe(rows(5.0), np.full(500, 10.0))
    monitor.evaluate()
    assert gauge(registry, "tripcast_drift_feature_drifted", feature="x") == 0


def test_version_without_profile_is_unmonitored_until_the_next_one(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    profiles = Profiles({"2": profile(0.0)})
    monitor = ServedModelDriftMonitor(SPEC, profiles, registry, min_rows=10)
    with caplog.at_level("WARNING"):
        assert monitor.on_model("toy", "1") is False
    assert "serving without drift monitoring" in caplog.text
    assert monitor.on_model("toy", "1") is False and len(profiles.loads) == 1  # not retried per request
    monitor.observe(rows(0.0, 50))
    assert monitor.evaluate() is None
    assert gauge(registry, "tripcast_drift_window_rows") is None  # nothing published while unmonitored

    assert monitor.on_model("toy", "2") is True
    monitor.observe(rows(0.0, 50))
    assert monitor.evaluate() is not None
    assert gauge(registry, "tripcast_drift_window_rows") == 50

"""Online drift monitoring through the product's ASGI app: requests in, drift gauges on /metrics.

A real model trained on green 2021-01-01..15 (its reference profile logged at registration) serves
trips from 2021-01-16..31: as they are, trip_distance does not drift; scaled 3x, it does, and the
background evaluation publishes that on /metrics.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from feature_serving_helpers import january_trips, settings_for, train_register_champion
from prometheus_client.parser import text_string_to_metric_families

from tripcast.api.asgi import app_from_env
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.drift_detection.stattests import DriftMethod
from tripcast.settings import Settings

N_REQUESTS = 400
BATCH = 100


@pytest.fixture(scope="module")
def served(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame]:
    data_dir = tmp_path_factory.mktemp("drift-api")
    trips = january_trips(shared_data_dir)
    cut = datetime(2021, 1, 16)
    first_half = trips[trips["pickup_datetime"] < cut]
    settings = settings_for(data_dir, drift_evaluation_seconds=0.2)
    features = TripFeatureBuilder()
    train_register_champion(settings, features, features.training_set(first_half, "2021-01-01..15"), rounds=20)
    later = trips[(trips["pickup_datetime"] >= cut) & (trips["trip_distance"] > 0) & (trips["trip_distance"] <= 30)]
    return settings, later.sample(N_REQUESTS, random_state=3).reset_index(drop=True)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return metrics.get((name, tuple(sorted(labels.items()))))


def serve_and_scrape(
    settings: Settings, requests: pd.DataFrame, distance_factor: float
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Send the requests in batches, then wait for a drift evaluation covering all of them."""
    trips = [
        {"pickup_datetime": at, "pickup_zone": int(pu), "dropoff_zone": int(do), "trip_distance": d * distance_factor}
        for at, pu, do, d in zip(
            pd.to_datetime(requests["pickup_datetime"]).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist(),
            requests["pickup_zone"].tolist(),
            requests["dropoff_zone"].tolist(),
            requests["trip_distance"].astype(float).tolist(),
            strict=True,
        )
    ]
    with TestClient(app_from_env(settings)) as client:
        for start in range(0, len(trips), BATCH):
            response = client.post("/v1/predictions", json={"trips": trips[start : start + BATCH]})
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60  # a wait for the background task, not a timing assertion
        while True:
            metrics = samples(client.get("/metrics").text)
            rows = value(metrics, "tripcast_drift_window_rows", model="trip-duration")
            share = value(metrics, "tripcast_drift_dataset_share", model="trip-duration")
            if rows == len(trips) and share is not None:
                return metrics
            assert time.monotonic() < deadline, f"no drift evaluation of {len(trips)} rows on /metrics: {rows=}"
            time.sleep(0.2)


def trip_distance_verdict(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float],
) -> tuple[float, float, DriftMethod]:
    drifted = value(metrics, "tripcast_drift_feature_drifted", model="trip-duration", feature="trip_distance")
    scores = [
        (v, DriftMethod(dict(labels)["method"]))
        for (name, labels), v in metrics.items()
        if name == "tripcast_drift_feature_score" and dict(labels).get("feature") == "trip_distance"
    ]
    assert drifted is not None and len(scores) == 1
    return drifted, scores[0][0], scores[0][1]


def test_distance_scaled_3x_shows_drift_on_metrics(served: tuple[Settings, pd.DataFrame]) -> None:
    settings, requests = served
    metrics = serve_and_scrape(settings, requests, distance_factor=3.0)
    drifted, score, method = trip_distance_verdict(metrics)
    assert drifted == 1
    if method.is_pvalue:
        assert score < method.default_threshold
    else:
        assert score > method.default_threshold
    assert value(metrics, "tripcast_drift_dataset_share", model="trip-duration") > 0  # type: ignore[operator]
    # Predictions were observed alongside the rows, so the prediction drift gauge is published too.
    assert any(name == "tripcast_drift_prediction_score" for name, _ in metrics)


def test_unscaled_requests_show_no_trip_distance_drift(served: tuple[Settings, pd.DataFrame]) -> None:
    settings, requests = served
    metrics = serve_and_scrape(settings, requests, distance_factor=1.0)
    drifted, score, method = trip_distance_verdict(metrics)
    assert drifted == 0
    if method.is_pvalue:
        assert score >= method.default_threshold
    else:
        assert score < method.default_threshold


def test_version_without_profile_serves_unmonitored(
    served: tuple[Settings, pd.DataFrame], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    _, requests = served
    other = settings_for(tmp_path)
    features = TripFeatureBuilder()
    train = features.training_set(requests, "served-sample")
    model = LightGBMTrainer(features.spec, {"num_threads": 1}, num_boost_round=5).fit(train, train)
    with MlflowTracker(other.tracking_uri, "no-profile", other.artifact_location).start_run("bare") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(other.tracking_uri, features)
    registry.set_alias("trip-duration", "champion", registry.register(uri, "trip-duration").version)
    row = requests.iloc[0]
    with caplog.at_level("WARNING"), TestClient(app_from_env(other)) as client:
        response = client.post(
            "/v1/predictions",
            json={
                "pickup_datetime": row.pickup_datetime.isoformat(),
                "pickup_zone": int(row.pickup_zone),
                "dropoff_zone": int(row.dropoff_zone),
                "trip_distance": float(row.trip_distance),
            },
        )
        assert response.status_code == 200
        assert client.app.state.drift_monitor.active is False  # type: ignore[attr-defined]
        assert "tripcast_drift_window_rows" not in client.get("/metrics").text
    assert "serving without drift monitoring" in caplog.text


def test_reference_follows_the_served_version_after_a_reload(
    served: tuple[Settings, pd.DataFrame], shared_data_dir: Path, tmp_path: Path
) -> None:
    """v1's profile is January as it is, v2's is January with distances x3: after the swap, x3 is normal."""
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

    _, requests = served
    settings = settings_for(tmp_path, drift_evaluation_seconds=0.2)
    trips = january_trips(shared_data_dir)
    first_half = trips[trips["pickup_datetime"] < datetime(2021, 1, 16)]
    scaled = first_half.assign(trip_distance=first_half["trip_distance"] * 3)
    features = TripFeatureBuilder()
    v1 = train_register_champion(settings, features, features.training_set(first_half, "jan"), rounds=5)
    v2 = train_register_champion(settings, features, features.training_set(scaled, "jan-x3"), rounds=5)
    registry = MlflowModelRegistry(settings.tracking_uri, features)
    registry.set_alias("trip-duration", "champion", v1)

    trips_x3 = [
        {"pickup_datetime": at, "pickup_zone": int(pu), "dropoff_zone": int(do), "trip_distance": d * 3}
        for at, pu, do, d in zip(
            pd.to_datetime(requests["pickup_datetime"]).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist(),
            requests["pickup_zone"].tolist(),
            requests["dropoff_zone"].tolist(),
            requests["trip_distance"].astype(float).tolist(),
            strict=True,
        )
    ]
    from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore
    from tripcast.security.roles import Role

    keys = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    operator = {"Authorization": f"Bearer {keys.create('drift-test', Role.OPERATOR, actor='tests')}"}
    with TestClient(app_from_env(settings)) as client:
        monitor = client.app.state.drift_monitor  # type: ignore[attr-defined]
        for version in (v1, v2):
            if version == v2:
                registry.set_alias("trip-duration", "champion", v2)
                assert client.post("/v1/models/reload", headers=operator).json()["model_version"] == v2
            for start in range(0, len(trips_x3), BATCH):
                response = client.post("/v1/predictions", json={"trips": trips_x3[start : start + BATCH]})
                assert response.json()["model_version"] == version
            assert monitor.model_key == ("trip-duration", version)
            assert monitor.monitor.n_rows == len(trips_x3)  # the swap emptied the window: no v1 rows left
            report = monitor.evaluate()
            verdict = {c.column: c.drifted for c in report.columns}["trip_distance"]
            assert verdict is (version == v1)

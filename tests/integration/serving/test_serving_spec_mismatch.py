"""A server whose feature spec differs from the champion's (feature store on vs off) refuses it cleanly.

The registry refuses to load a version whose signature is not the served spec's features, so the
holder stays not ready: every endpoint answers 503 naming the mismatch, never 500, and the server
keeps answering health checks.
"""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient
from serving_champion import Champion

from support.serving_settings import functional_settings
from tripcast.api.app import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry

TRIP = {"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}


class WiderSpecBuilder(TripFeatureBuilder):
    """The spine features plus one zone aggregate, as the feature-store builder serves them."""

    spec = dataclasses.replace(
        TRIP_DURATION_SPEC,
        features=(*TRIP_DURATION_SPEC.features, FeatureSpec("pickup_zone_trips_1h", FeatureKind.NUMERIC)),
    )


def test_a_champion_trained_for_another_spec_gives_503_naming_the_mismatch(champion: Champion) -> None:
    builder = WiderSpecBuilder()
    registry = MlflowModelRegistry(champion.tracking_uri, builder)
    app = create_app(serving_parts(functional_settings(), registry, feature_builder=builder, cache=None, poll=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert "pickup_zone_trips_1h" in ready.json()["reason"] and "takes inputs" in ready.json()["reason"]
        predicted = client.post("/v1/predictions", json=TRIP)
        assert predicted.status_code == 503, predicted.text
        assert client.get("/v1/models/current").status_code == 503
    # The same champion under the spec it was trained for is served.
    settings = functional_settings()
    plain = create_app(
        serving_parts(settings, champion.registry, feature_builder=champion.features, cache=None, poll=False)
    )
    with TestClient(plain) as client:
        answer = client.post("/v1/predictions", json=TRIP)
        assert answer.status_code == 200 and answer.json()["model_version"] == champion.version

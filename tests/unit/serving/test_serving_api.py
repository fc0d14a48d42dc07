"""The prediction API against a fake registry: contract, validation, auth, readiness, metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from support.api_keys import authenticator, bearer, key_store
from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.security.api_keys import SqlApiKeyStore

TOKEN = "a-very-secret-token-123"


@pytest.fixture()
def keys(tmp_path: Any) -> SqlApiKeyStore:
    return key_store(tmp_path)


def make_client(registry: Any, keys: SqlApiKeyStore | None = None, **settings: Any) -> TestClient:
    built = functional_settings(**settings)
    token = built.api_token.get_secret_value() if built.api_token else None
    auth = {"authenticator": authenticator(keys, admin_token=token)} if keys is not None else {}
    app = create_app(serving_parts(built, registry, cache=None, poll=False, **auth))
    return TestClient(app)


@pytest.fixture()
def client(fake_registry: Any):
    with make_client(fake_registry, max_batch_size=5) as c:
        yield c


def test_single_trip_gets_minutes_and_model_version(client: TestClient, trip: dict[str, Any]) -> None:
    response = client.post("/v1/predictions", json=trip)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "minutes": 106.0,
        "model_name": "trip-duration",
        "model_version": "1",
        "experiment": None,
        "arm": None,
    }


def test_batch_answers_in_order(client: TestClient, trip: dict[str, Any]) -> None:
    trips = [{**trip, "trip_distance": d} for d in (1.0, 2.0, 3.0)]
    response = client.post("/v1/predictions", json={"trips": trips})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == [103.0, 106.0, 109.0]
    assert body["count"] == 3 and body["model_version"] == "1"


def test_batch_over_the_limit_is_413(client: TestClient, trip: dict[str, Any]) -> None:
    response = client.post("/v1/predictions", json={"trips": [trip] * 6})
    assert response.status_code == 413
    assert "max_batch_size 5" in response.json()["detail"]


def test_batch_length_is_refused_before_any_trip_is_validated(fake_registry: Any) -> None:
    # 5,000 broken trips fit in the body limit of a 1,000-trip server: the answer is the length, not 5,000
    # field errors (which is what validating every trip first would give).
    broken = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": "x", "dropoff_zone": 1, "trip_distance": 1}
    with make_client(fake_registry, max_batch_size=1000) as c:
        response = c.post("/v1/predictions", json={"trips": [broken] * 5000})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["detail"] == "trips: batch of 5000 exceeds max_batch_size 1000"
    assert [e["field"] for e in response.json()["errors"]] == ["trips"]


def test_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    response = client.post("/v1/predictions", content=b"x" * 200_000, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"


def fields(response: Any) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def test_domain_rules_name_each_broken_field(client: TestClient, trip: dict[str, Any]) -> None:
    response = client.post("/v1/predictions", json={**trip, "pickup_zone": 999, "trip_distance": -1})
    assert response.status_code == 422
    assert fields(response) == {"pickup_zone", "trip_distance"}
    assert "outside 1-265" in response.text


def test_batch_errors_name_the_trip_index(client: TestClient, trip: dict[str, Any]) -> None:
    response = client.post("/v1/predictions", json={"trips": [trip, {**trip, "passenger_count": 40}]})
    assert response.status_code == 422
    assert fields(response) == {"trips[1].passenger_count"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pickup_zone": 1, "dropoff_zone": 2, "trip_distance": 1.0}, "pickup_datetime"),
        (
            {"pickup_datetime": "yesterday", "pickup_zone": 1, "dropoff_zone": 2, "trip_distance": 1.0},
            "pickup_datetime",
        ),
        (
            {"pickup_datetime": "2021-02-01T00:00", "pickup_zone": "north", "dropoff_zone": 2, "trip_distance": 1},
            "pickup_zone",
        ),
        (
            {"pickup_datetime": "2021-02-01T00:00", "pickup_zone": 10**40, "dropoff_zone": 2, "trip_distance": 1},
            "pickup_zone",
        ),
        (
            {"pickup_datetime": "2021-02-01T00:00", "pickup_zone": 1, "dropoff_zone": 2, "trip_distance": 1e308},
            "trip_distance",
        ),
        ({"pickup_datetime": "2021-02-01T00:00", "pickup_zone": 1, "dropoff_zone": 2, "trip_distance": 1, "x": 1}, "x"),
        (
            {"pickup_datetime": "1999-02-01T00:00", "pickup_zone": 1, "dropoff_zone": 2, "trip_distance": 1},
            "pickup_datetime",
        ),
        ({"trips": []}, "trips"),
        ({"trips": [{"pickup_zone": 1}]}, "trips[0].pickup_datetime"),
    ],
)
def test_schema_errors_are_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 422, response.text
    assert field in fields(response)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"pickup_zone": True}, "pickup_zone"),
        ({"pickup_zone": "74"}, "pickup_zone"),
        ({"dropoff_zone": 75.0}, "dropoff_zone"),
        ({"passenger_count": "1"}, "passenger_count"),
        ({"vendor_id": False}, "vendor_id"),
        ({"trip_distance": "1.2"}, "trip_distance"),
        ({"trip_distance": True}, "trip_distance"),
        ({"pickup_datetime": 1612137600}, "pickup_datetime"),
        ({"pickup_datetime": "2201-02-14T08:30:00"}, "pickup_datetime"),
        ({"pickup_datetime": "2008-12-31T23:59:00"}, "pickup_datetime"),
    ],
)
def test_types_are_strict_and_dates_sane(client: TestClient, trip: dict[str, Any], override: Any, field: str) -> None:
    """Defect 11: `true` and `"74"` used to be read as zones 1 and 74, a far-future date as a trip."""
    response = client.post("/v1/predictions", json={**trip, **override})
    assert response.status_code == 422, response.text
    assert fields(response) == {field}
    batch = client.post("/v1/predictions", json={"trips": [trip, {**trip, **override}]})
    assert batch.status_code == 422 and fields(batch) == {f"trips[1].{field}"}


def test_json_numbers_stay_numbers(client: TestClient, trip: dict[str, Any]) -> None:
    for distance in (2, 2.0, 2e0):
        answer = client.post("/v1/predictions", json={**trip, "trip_distance": distance})
        assert answer.status_code == 200 and answer.json()["minutes"] == 106.0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[]",
        b"null",
        b"42",
        b'"trip"',
        b'{"pickup_datetime":"2021-02-01T00:00","pickup_zone":1,"dropoff_zone":2,"trip_distance":NaN}',
        b'{"pickup_datetime":"2021-02-01T00:00","pickup_zone":1,"dropoff_zone":2,"trip_distance":Infinity}',
        b'{"pickup_datetime":"2021-02-01T00:00","pickup_zone":1,"dropoff_zone":2,"trip_distance":1e999}',
        b'{"trips": 5}',
        b'{"trips": [null]}',
        '{"pickup_datetime": "\u00e9"}'.encode(),
        b"\xff\xfe\x00",
    ],
)
def test_malformed_bodies_are_4xx(client: TestClient, raw: bytes) -> None:
    response = client.post("/v1/predictions", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"], response.text


def test_not_ready_until_a_model_is_loaded(trip: dict[str, Any], keys: SqlApiKeyStore) -> None:
    from support.serving_fakes import FakeRegistry

    registry = FakeRegistry()
    registry.add("1")  # no champion alias yet
    operator = bearer(keys)
    with make_client(registry, keys) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and "champion" in ready.json()["reason"]
        refused = client.post("/v1/predictions", json=trip)
        assert refused.status_code == 503 and refused.headers["retry-after"]
        registry.set_alias("trip-duration", "champion", "1")
        assert client.post("/v1/models/reload", headers=operator).json()["changed"] is True
        assert client.get("/health/ready").json()["model_version"] == "1"
        assert client.post("/v1/predictions", json=trip).status_code == 200


def test_current_model_describes_the_served_version(client: TestClient) -> None:
    body = client.get("/v1/models/current").json()
    assert body["model_version"] == "1" and body["aliases"] == ["champion"]
    assert body["metrics"] == {"rmse": 5.0} and body["predictor"] == "FakePredictor"
    assert "run_id" not in body and "source" not in body  # internals: operators and up only


def test_current_model_shows_run_and_storage_to_operators(fake_registry: Any, keys: SqlApiKeyStore) -> None:
    with make_client(fake_registry, keys) as client:
        body = client.get("/v1/models/current", headers=bearer(keys)).json()
        expected = fake_registry.get("trip-duration", "champion")
        assert body["run_id"] == expected.run_id and body["source"] == expected.source


def test_reload_follows_the_alias_and_keeps_serving_on_failure(
    fake_registry: Any, trip: dict[str, Any], keys: SqlApiKeyStore
) -> None:
    operator = bearer(keys)
    with make_client(fake_registry, keys) as client:
        fake_registry.add("2", alias="champion")
        fake_registry.broken.add("2")
        failed = client.post("/v1/models/reload", headers=operator).json()
        assert failed["changed"] is False and "corrupt" in failed["error"] and failed["model_version"] == "1"
        assert client.post("/v1/predictions", json=trip).json()["model_version"] == "1"
        fake_registry.broken.clear()
        reloaded = client.post("/v1/models/reload", headers=operator).json()
        assert reloaded == {"changed": True, "model_version": "2", "error": None}
        assert client.post("/v1/predictions", json=trip).json()["minutes"] == 206.0
        metrics = client.get("/metrics").text
        assert 'tripcast_model_reloads_total{outcome="failure"} 1.0' in metrics
        assert 'tripcast_model_reloads_total{outcome="success"} 2.0' in metrics


def test_reload_requires_the_environment_token_when_set(fake_registry: Any, keys: SqlApiKeyStore) -> None:
    with make_client(fake_registry, keys, api_token=SecretStr(TOKEN)) as client:
        missing = client.post("/v1/models/reload")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        # An unknown token is not a credential at all (RFC 6750 invalid_token): 401, as without one.
        wrong = client.post("/v1/models/reload", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
        ok = client.post("/v1/models/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["model_version"] == "1"


def test_reload_needs_a_credential_in_local_without_a_token(fake_registry: Any, tmp_path: Any) -> None:
    """Defect 9: in `local` with TRIPCAST_API_TOKEN unset the reload endpoint used to be open."""
    with make_client(fake_registry, env="local", api_token=None, data_dir=tmp_path) as client:
        refused = client.post("/v1/models/reload")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["errors"][0]["field"] == "Authorization"


def test_metrics_count_requests_by_route_and_status(client: TestClient, trip: dict[str, Any]) -> None:
    client.post("/v1/predictions", json=trip)
    client.post("/v1/predictions", json={**trip, "pickup_zone": 0})
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert 'tripcast_http_requests_total{method="POST",route="/v1/predictions",status="200"} 1.0' in text
    assert 'tripcast_http_requests_total{method="POST",route="/v1/predictions",status="422"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'tripcast_predictions_total{model_name="trip-duration",model_version="1"} 1.0' in text
    assert "tripcast_prediction_duration_seconds_bucket" in text
    assert 'tripcast_model_info{model_name="trip-duration",model_version="1"} 1.0' in text


def test_openapi_documents_examples_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/predictions"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"single", "batch", "invalid"} <= set(examples)
    assert {"413", "422", "503"} <= set(operation["responses"])
    assert client.get("/docs").status_code == 200


def test_cache_answers_repeats_and_is_counted(fake_registry: Any, trip: dict[str, Any]) -> None:
    from tripcast.mlops.serving.caching import LruPredictionCache

    app = create_app(serving_parts(functional_settings(), fake_registry, cache=LruPredictionCache(100), poll=False))
    with TestClient(app) as client:
        first = client.post("/v1/predictions", json=trip).json()
        # Same trip spelt differently (int distance, reordered keys) must hit the same entry.
        second = client.post("/v1/predictions", json=dict(reversed(list({**trip, "trip_distance": 2}.items())))).json()
        assert first == second
        text = client.get("/metrics").text
        assert "tripcast_prediction_cache_hits_total 1.0" in text
        assert "tripcast_prediction_cache_misses_total 1.0" in text
    predictor = app.state.holder.current.predictor
    assert predictor.calls == 1


def test_json_body_nan_literal_in_batch_names_field(client: TestClient, trip: dict[str, Any]) -> None:
    raw = json.dumps({"trips": [trip, {**trip, "trip_distance": float("nan")}]})
    response = client.post("/v1/predictions", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "trips[1].trip_distance" in fields(response)


def test_a_reload_that_swaps_the_version_is_audited_with_the_callers_key(
    fake_registry: Any, keys: SqlApiKeyStore
) -> None:
    from tripcast.core.domain.audit import AuditEvent
    from tripcast.core.services.prediction import MODEL_RELOADED

    class MemoryAudit:
        def __init__(self) -> None:
            self.recorded: list[AuditEvent] = []

        def record(self, event: AuditEvent) -> None:
            self.recorded.append(event)

        def events(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
            return list(self.recorded)

    audit = MemoryAudit()
    operator = bearer(keys, name="ops-alice")
    built = functional_settings()
    parts = serving_parts(built, fake_registry, cache=None, poll=False, authenticator=authenticator(keys), audit=audit)
    with TestClient(create_app(parts)) as client:
        assert client.post("/v1/models/reload", headers=operator).json()["changed"] is False
        assert audit.recorded == []  # nothing changed, nothing recorded
        fake_registry.add("2", alias="champion")
        assert client.post("/v1/models/reload", headers=operator).json()["model_version"] == "2"
    [event] = audit.recorded
    assert (event.action, event.actor, event.subject) == (MODEL_RELOADED, "ops-alice", "model:trip-duration")
    assert event.details == {"version": "2", "forced": "false", "previous_version": "1"}

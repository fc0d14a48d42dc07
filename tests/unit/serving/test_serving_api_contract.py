"""Property-based contract: whatever JSON a client sends to /v1/predictions, the answer is never 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2021-02-01T08:00:00", "2021-02-01", "2021-13-45T99:00", "1900-01-01T00:00:00Z"]),
)
json_values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)
FIELDS = ["pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count"]
trips = st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS})
payloads = st.one_of(trips, st.fixed_dictionaries({"trips": st.lists(trips, max_size=4)}), json_values)


@pytest.fixture(scope="module")
def client():
    from support.serving_fakes import FakeRegistry

    registry = FakeRegistry()
    registry.add("1", alias="champion")
    with TestClient(
        create_app(serving_parts(functional_settings(max_batch_size=3), registry, cache=None, poll=False))
    ) as c:
        yield c


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_no_payload_gives_5xx(client: TestClient, payload: Any) -> None:
    raw = json.dumps(payload, allow_nan=True)
    response = client.post("/v1/predictions", content=raw, headers={"content-type": "application/json"})
    assert response.status_code < 500, (raw, response.text)
    if response.status_code >= 400:
        assert response.json()["errors"], (raw, response.text)
    else:
        body = response.json()
        assert body["model_version"] == "1"

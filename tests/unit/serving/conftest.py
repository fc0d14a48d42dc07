"""Fixtures for serving unit tests: a fake registry holding version 1 as champion, and a valid trip."""

from __future__ import annotations

from typing import Any

import pytest

from support.serving_fakes import FakeRegistry


@pytest.fixture()
def fake_registry() -> FakeRegistry:
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    return registry


@pytest.fixture()
def trip() -> dict[str, Any]:
    return {
        "pickup_datetime": "2021-02-14T08:30:00",
        "pickup_zone": 74,
        "dropoff_zone": 75,
        "trip_distance": 2.0,
        "vendor_id": 2,
        "passenger_count": 1,
    }

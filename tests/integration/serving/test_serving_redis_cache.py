"""The Redis prediction cache against the real Redis on this machine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from fastapi.testclient import TestClient

from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.caching import RedisPredictionCache


def req(distance: float) -> TripRequest:
    return TripRequest.create(
        pickup_datetime=datetime(2021, 2, 1, 8), pickup_zone=74, dropoff_zone=75, trip_distance=distance
    )


def test_round_trip_versions_and_expiry(redis_url: str, redis_prefix: str) -> None:
    cache = RedisPredictionCache(redis_url, prefix=redis_prefix, ttl_seconds=600)
    try:
        assert cache.get_many("m", "1", [req(1), req(2)]) == [None, None]
        cache.put_many("m", "1", [req(1), req(2)], [11.5, 12.25])
        assert cache.get_many("m", "1", [req(2), req(3), req(1)]) == [12.25, None, 11.5]
        assert cache.get_many("m", "2", [req(1)]) == [None]  # a new version never reads old answers
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{redis_prefix}*"))
        assert len(keys) == 2 and all(k.decode().startswith(f"{redis_prefix}m:1:") for k in keys)
        assert 0 < client.ttl(keys[0]) <= 600
        client.close()
    finally:
        cache.close()


def test_two_caches_share_entries_like_two_workers(redis_url: str, redis_prefix: str) -> None:
    first = RedisPredictionCache(redis_url, prefix=redis_prefix)
    second = RedisPredictionCache(redis_url, prefix=redis_prefix)
    first.put_many("m", "3", [req(4)], [20.0])
    assert second.get_many("m", "3", [req(4.0)]) == [20.0]
    first.close()
    second.close()


def test_api_serves_from_redis_and_survives_redis_down(redis_url: str, redis_prefix: str) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "serving"))
    from support.serving_fakes import FakeRegistry

    registry = FakeRegistry()
    registry.add("1", alias="champion")
    trip: dict[str, Any] = {
        "pickup_datetime": "2021-02-01T08:00:00",
        "pickup_zone": 74,
        "dropoff_zone": 75,
        "trip_distance": 2,
    }
    cache = RedisPredictionCache(redis_url, prefix=redis_prefix)
    with TestClient(create_app(serving_parts(functional_settings(), registry, cache=cache, poll=False))) as client:
        assert client.post("/v1/predictions", json=trip).json()["minutes"] == 106.0
        assert client.post("/v1/predictions", json=trip).json()["minutes"] == 106.0
        text = client.get("/metrics").text
        assert "tripcast_prediction_cache_hits_total 1.0" in text
    broken = RedisPredictionCache("redis://127.0.0.1:1/0", prefix=redis_prefix, socket_timeout=0.2)
    with TestClient(create_app(serving_parts(functional_settings(), registry, cache=broken, poll=False))) as client:
        response = client.post("/v1/predictions", json=trip)
        assert response.status_code == 200 and response.json()["minutes"] == 106.0
        assert "tripcast_prediction_cache_errors_total 2.0" in client.get("/metrics").text

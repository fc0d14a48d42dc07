"""Prediction cache keys and the in-process LRU; the service degrades to no cache on cache errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction
from tripcast.mlops.serving.caching import LruPredictionCache, PredictionCache, build_cache, cache_key
from tripcast.mlops.serving.caching.redis_cache import RedisPredictionCache
from tripcast.mlops.serving.real_time import ModelHolder, ServingMetrics


def req(distance: float = 1.0, when: datetime | None = None, **kw: Any) -> TripRequest:
    return TripRequest.create(
        pickup_datetime=when or datetime(2021, 2, 1, 8), pickup_zone=74, dropoff_zone=75, trip_distance=distance, **kw
    )


def test_key_depends_on_model_version_and_every_field() -> None:
    base = cache_key("m", "1", req())
    assert cache_key("m", "2", req()) != base
    assert cache_key("other", "1", req()) != base
    assert cache_key("m", "1", req(1.5)) != base
    assert cache_key("m", "1", req(vendor_id=2)) != base
    assert cache_key("m", "1", req(passenger_count=1)) != base
    assert cache_key("m", "1", req(when=datetime(2021, 2, 1, 9))) != base


def test_key_is_canonical_across_spellings() -> None:
    assert cache_key("m", "1", req(1)) == cache_key("m", "1", req(1.0))
    assert cache_key("m", "1", req(when=datetime(2021, 2, 1, 8, tzinfo=UTC))) == cache_key("m", "1", req())


def test_lru_evicts_least_recently_used() -> None:
    cache = LruPredictionCache(2)
    a, b, c = req(1), req(2), req(3)
    cache.put_many("m", "1", [a, b], [1.0, 2.0])
    assert cache.get_many("m", "1", [a]) == [1.0]  # a is now most recent
    cache.put_many("m", "1", [c], [3.0])
    assert cache.get_many("m", "1", [a, b, c]) == [1.0, None, 3.0]
    assert len(cache) == 2


def test_lru_rejects_zero_size() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        LruPredictionCache(0)


def test_factory_follows_settings() -> None:
    assert isinstance(build_cache(None, 10), LruPredictionCache)
    assert build_cache(None, 0) is None
    assert isinstance(build_cache("redis://127.0.0.1:6379/0", 10), RedisPredictionCache)


class BrokenCache(PredictionCache):
    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        raise ConnectionError("cache down")

    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        raise ConnectionError("cache down")


def test_service_serves_through_a_broken_cache(fake_registry: Any) -> None:
    metrics = ServingMetrics()
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    service = Prediction(holder, cache=BrokenCache(), metrics=metrics)
    assert service.predict([req(1), req(2)]).minutes == [103.0, 106.0]
    assert metrics.cache_errors._value.get() == 2


def test_service_mixes_hits_and_misses_in_order(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    cache = LruPredictionCache(10)
    cache.put_many("trip-duration", "1", [req(2)], [42.0])  # a planted value proves the hit path
    served = Prediction(holder, cache=cache).predict([req(1), req(2), req(3)])
    assert served.minutes == [103.0, 42.0, 109.0] and served.cache_hits == 1
    assert cache.get_many("trip-duration", "1", [req(1), req(3)]) == [103.0, 109.0]

"""Pick the prediction cache the settings ask for."""

from __future__ import annotations

from tripcast.mlops.serving.caching.base import PredictionCache
from tripcast.mlops.serving.caching.memory import LruPredictionCache
from tripcast.mlops.serving.caching.redis_cache import RedisPredictionCache


def build_cache(cache_url: str | None, cache_size: int, *, prefix: str = "tripcast:pred:") -> PredictionCache | None:
    """Redis when ``cache_url`` is set, else an in-process LRU of ``cache_size`` entries (None when 0)."""
    if cache_url:
        return RedisPredictionCache(cache_url, prefix=prefix)
    if cache_size <= 0:
        return None
    return LruPredictionCache(cache_size)

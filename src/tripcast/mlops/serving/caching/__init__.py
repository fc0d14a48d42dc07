"""Prediction caches: an in-process LRU (default) and Redis (shared between workers and hosts)."""

from tripcast.mlops.serving.caching.base import PredictionCache, cache_key, canonical_request
from tripcast.mlops.serving.caching.factory import build_cache
from tripcast.mlops.serving.caching.memory import LruPredictionCache
from tripcast.mlops.serving.caching.redis_cache import RedisPredictionCache

__all__ = [
    "LruPredictionCache",
    "PredictionCache",
    "RedisPredictionCache",
    "build_cache",
    "cache_key",
    "canonical_request",
]

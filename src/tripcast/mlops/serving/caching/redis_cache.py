"""Redis prediction cache, shared by every worker and host that points at the same server."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.caching.base import PredictionCache, cache_key


class RedisPredictionCache(PredictionCache):
    """One string key per prediction under ``prefix``, expiring after ``ttl_seconds``.

    Reads use one ``MGET`` and writes one pipelined batch of ``SET ... EX``, so a batch request costs two
    round trips whatever its size. Short socket timeouts keep a slow Redis from stalling requests; the
    prediction service treats any cache error as a miss.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tripcast:pred:",
        ttl_seconds: int = 24 * 3600,
        socket_timeout: float = 0.25,
        client: redis.Redis | None = None,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.client = client or redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )

    def _keys(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[str]:
        return [self.prefix + cache_key(model_name, model_version, r) for r in requests]

    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        if not requests:
            return []
        values = self.client.mget(self._keys(model_name, model_version, requests))
        return [float(v) if v is not None else None for v in values]

    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        if not requests:
            return
        pipe = self.client.pipeline(transaction=False)
        for key, value in zip(self._keys(model_name, model_version, requests), minutes, strict=True):
            pipe.set(key, repr(float(value)), ex=self.ttl_seconds)
        pipe.execute()

    def close(self) -> None:
        self.client.close()

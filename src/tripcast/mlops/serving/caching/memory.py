"""In-process least-recently-used prediction cache (the default)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.caching.base import PredictionCache, cache_key


class LruPredictionCache(PredictionCache):
    """Keeps up to ``max_entries`` predictions; the least recently used go first. Thread-safe."""

    performs_io = False  # a dictionary under a lock held for microseconds

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        keys = [cache_key(model_name, model_version, r) for r in requests]
        found: list[float | None] = []
        with self._lock:
            for key in keys:
                value = self._entries.get(key)
                if value is not None:
                    self._entries.move_to_end(key)
                found.append(value)
        return found

    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        keys = [cache_key(model_name, model_version, r) for r in requests]
        with self._lock:
            for key, value in zip(keys, minutes, strict=True):
                self._entries[key] = float(value)
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

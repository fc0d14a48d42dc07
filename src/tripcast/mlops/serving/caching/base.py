"""The prediction cache contract and its key scheme.

A key names the model and version that produced the value plus the canonical form of the request, so a
new champion never answers from its predecessor's entries, and two spellings of the same trip (``1`` vs
``1.0`` miles, key order, ``+00:00`` vs naive) share one entry.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence

from tripcast.core.domain.trip import TripRequest


def canonical_request(request: TripRequest) -> str:
    """A stable text form of a trip request: sorted keys, ISO datetime, floats via ``repr``."""
    moment = request.pickup_datetime
    if moment.tzinfo is not None and moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0:  # type: ignore[union-attr]
        moment = moment.replace(tzinfo=None)  # "Z"/"+00:00" and naive UTC mean the same trip
    payload = {
        "dropoff_zone": int(request.dropoff_zone),
        "passenger_count": request.passenger_count,
        "pickup_datetime": moment.isoformat(),
        "pickup_zone": int(request.pickup_zone),
        "trip_distance": repr(float(request.trip_distance)),
        "vendor_id": request.vendor_id,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def cache_key(model_name: str, model_version: str, request: TripRequest) -> str:
    """``<model>:<version>:<sha256 of the canonical request>``."""
    digest = hashlib.sha256(canonical_request(request).encode()).hexdigest()[:32]
    return f"{model_name}:{model_version}:{digest}"


class PredictionCache(ABC):
    """Predicted minutes per (model version, request); misses come back as None."""

    #: Whether a lookup leaves the process (Redis): servers then keep it off their event loop.
    performs_io: bool = True

    @abstractmethod
    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        """Cached minutes for each request, in order, None where absent."""

    @abstractmethod
    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        """Remember ``minutes[i]`` for ``requests[i]`` under that model version."""

    def close(self) -> None:  # noqa: B027 - optional hook; in-process caches hold nothing to release
        """Release connections."""

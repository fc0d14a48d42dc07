"""Wire contracts of serving: the one pydantic trip model of the HTTP API, ``tripcast predict`` and streams."""

from tripcast.mlops.serving.contracts.trip import (
    TRIP_EXAMPLE,
    TripBatchIn,
    TripIn,
    parse_trip_json,
    prediction_payload,
    trip_requests,
)

__all__ = ["TRIP_EXAMPLE", "TripBatchIn", "TripIn", "parse_trip_json", "prediction_payload", "trip_requests"]

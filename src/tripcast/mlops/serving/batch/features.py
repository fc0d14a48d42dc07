"""Features of checked batches for builders that only take trip requests (the feature-store builder).

The spine builder (:class:`~tripcast.data_engineering.features.trip_features.TripFeatureBuilder`) builds
features from columns itself; a builder that looks features up per request gets the batch's rows as
requests here. The composition root picks which one a model needs.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import FeatureBuilder


class RequestColumnFeatures:
    """``features_for_columns`` through a builder's ``features_for_requests`` (one request per row)."""

    def __init__(self, builder: FeatureBuilder) -> None:
        self.builder = builder

    def features_for_columns(self, trips: pa.Table) -> Any:
        """The builder's request features for the valid rows of a checked batch."""
        names = ("pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count")
        rows = zip(*(trips.column(name).to_pylist() for name in names), strict=True)
        requests = [TripRequest(*row) for row in rows]
        return self.builder.features_for_requests(requests)

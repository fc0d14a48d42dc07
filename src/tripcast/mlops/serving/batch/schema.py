"""Column layouts of batch scoring: the request fields read, the scored and quarantine outputs."""

from __future__ import annotations

from typing import Final

import pyarrow as pa

#: Request fields read from each input file (after renaming source columns through the aliases).
REQUEST_FIELDS: Final = [
    "pickup_datetime",
    "pickup_zone",
    "dropoff_zone",
    "trip_distance",
    "vendor_id",
    "passenger_count",
]
#: Fields without which no row can be scored.
REQUIRED_FIELDS: Final = REQUEST_FIELDS[:4]
REASON_COLUMN: Final = "quarantine_reason"
#: Added to the checked rows by the writer: the prediction and the version that made it.
PREDICTION_COLUMNS: Final = ("predicted_minutes", "model_name", "model_version")

SCORED_SCHEMA: Final = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("pickup_datetime", pa.timestamp("us")),
        ("pickup_zone", pa.int32()),
        ("dropoff_zone", pa.int32()),
        ("trip_distance", pa.float64()),
        ("vendor_id", pa.int32()),
        ("passenger_count", pa.int32()),
        ("predicted_minutes", pa.float64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
    ]
)
#: The scored rows as the checker hands them on, before the writer adds :data:`PREDICTION_COLUMNS`.
CHECKED_SCHEMA: Final = pa.schema([f for f in SCORED_SCHEMA if f.name not in PREDICTION_COLUMNS])
QUARANTINE_SCHEMA: Final = pa.schema(
    [("source_file", pa.string()), ("source_row", pa.int64())]
    + [(name, pa.string()) for name in REQUEST_FIELDS]
    + [(REASON_COLUMN, pa.string())]
)

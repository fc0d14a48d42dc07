"""The canonical trip schema every TLC file is cast to, whatever its year or service.

TLC changed column types over the years (location ids int64 in 2021, int32 from
2023-02; several float columns became ints) and green and yellow name their
timestamps differently (``lpep_`` vs ``tpep_``). Loaders rename and cast to this
one schema so that nothing downstream sees those differences.
"""

from __future__ import annotations

from typing import Final

#: Canonical column -> pandas dtype. Nullable integer dtypes keep TLC's nulls.
CANONICAL_DTYPES: Final[dict[str, str]] = {
    "service": "string",
    "vendor_id": "Int32",
    "pickup_datetime": "datetime64[us]",
    "dropoff_datetime": "datetime64[us]",
    "store_and_fwd_flag": "string",
    "ratecode_id": "Int32",
    "pickup_zone": "Int32",
    "dropoff_zone": "Int32",
    "passenger_count": "Int32",
    "trip_distance": "float64",
    "fare_amount": "float64",
    "extra": "float64",
    "mta_tax": "float64",
    "tip_amount": "float64",
    "tolls_amount": "float64",
    "improvement_surcharge": "float64",
    "total_amount": "float64",
    "payment_type": "Int32",
    "trip_type": "Int32",
    "congestion_surcharge": "float64",
    "airport_fee": "float64",
}
CANONICAL_COLUMNS: Final[list[str]] = list(CANONICAL_DTYPES)

#: TLC source column (any service, any year) -> canonical column.
TLC_TO_CANONICAL: Final[dict[str, str]] = {
    "VendorID": "vendor_id",
    "lpep_pickup_datetime": "pickup_datetime",
    "lpep_dropoff_datetime": "dropoff_datetime",
    "tpep_pickup_datetime": "pickup_datetime",
    "tpep_dropoff_datetime": "dropoff_datetime",
    "store_and_fwd_flag": "store_and_fwd_flag",
    "RatecodeID": "ratecode_id",
    "PULocationID": "pickup_zone",
    "DOLocationID": "dropoff_zone",
    "passenger_count": "passenger_count",
    "trip_distance": "trip_distance",
    "fare_amount": "fare_amount",
    "extra": "extra",
    "mta_tax": "mta_tax",
    "tip_amount": "tip_amount",
    "tolls_amount": "tolls_amount",
    "improvement_surcharge": "improvement_surcharge",
    "total_amount": "total_amount",
    "payment_type": "payment_type",
    "trip_type": "trip_type",
    "congestion_surcharge": "congestion_surcharge",
    "airport_fee": "airport_fee",
    "Airport_fee": "airport_fee",
}

#: Columns a file must provide (after renaming) to be usable at all.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "pickup_datetime",
    "dropoff_datetime",
    "pickup_zone",
    "dropoff_zone",
    "trip_distance",
)

#: Added to valid rows by validation: the training target.
DURATION_COLUMN: Final = "duration_minutes"
#: Added to quarantined rows: why each row was set aside ("; "-joined when several).
REASON_COLUMN: Final = "quarantine_reason"

SERVICES: Final[tuple[str, ...]] = ("green", "yellow")

#: Canonical column -> (title, description), for schemas, data docs and JSON Schema exports.
COLUMN_DOCS: Final[dict[str, tuple[str, str]]] = {
    "service": ("Service", "TLC taxi service the record comes from: green or yellow"),
    "vendor_id": ("Vendor", "TPEP/LPEP provider: 1 Creative Mobile Technologies, 2 VeriFone/Curb"),
    "pickup_datetime": ("Pickup time", "Meter engaged, New York local time without time zone"),
    "dropoff_datetime": ("Dropoff time", "Meter disengaged, New York local time without time zone"),
    "store_and_fwd_flag": ("Store and forward", "Y when the record was held in vehicle memory before sending"),
    "ratecode_id": (
        "Rate code",
        "Final rate code: 1 standard, 2 JFK, 3 Newark, 4 Nassau/Westchester, 5 negotiated, 6 group",
    ),
    "pickup_zone": ("Pickup zone", "TLC taxi zone id (1-265) where the meter was engaged"),
    "dropoff_zone": ("Dropoff zone", "TLC taxi zone id (1-265) where the meter was disengaged"),
    "passenger_count": ("Passengers", "Number of passengers, entered by the driver"),
    "trip_distance": ("Distance", "Trip distance reported by the taximeter, miles"),
    "fare_amount": ("Fare", "Time-and-distance fare calculated by the meter, USD"),
    "extra": ("Extra", "Miscellaneous extras and surcharges (rush hour, overnight), USD"),
    "mta_tax": ("MTA tax", "MTA tax triggered by the metered rate, USD"),
    "tip_amount": ("Tip", "Tip amount; automatically filled for card tips, cash tips are not included, USD"),
    "tolls_amount": ("Tolls", "Total tolls paid in the trip, USD"),
    "improvement_surcharge": ("Improvement surcharge", "Improvement surcharge assessed at flag drop, USD"),
    "total_amount": ("Total", "Total amount charged to passengers, not including cash tips, USD"),
    "payment_type": ("Payment type", "1 card, 2 cash, 3 no charge, 4 dispute, 5 unknown, 6 voided"),
    "trip_type": ("Trip type", "Green only: 1 street hail, 2 dispatch"),
    "congestion_surcharge": ("Congestion surcharge", "NYS congestion surcharge (from 2019), USD"),
    "airport_fee": ("Airport fee", "Pickup fee at LaGuardia and JFK (from 2021), USD"),
    DURATION_COLUMN: ("Duration", "Minutes from pickup to dropoff; the training target of valid rows"),
    REASON_COLUMN: ("Quarantine reason", "Why the row was quarantined: every broken rule, '; '-joined"),
}

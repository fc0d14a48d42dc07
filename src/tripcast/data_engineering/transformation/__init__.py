"""Trip transformations written once with Ibis and run on DuckDB (default) or Spark.

Every function takes and returns an :class:`ibis.Table` expression; nothing is executed
until an engine materialises the result, so the same code scales from a laptop
(DuckDB) to a cluster (PySpark).
"""

from tripcast.data_engineering.transformation.aggregates import zone_hour_features, zone_pair_features
from tripcast.data_engineering.transformation.cleaning import clean_trips, quarantine_trips, split_trips
from tripcast.data_engineering.transformation.engine import Engine, ParquetOutput, open_engine
from tripcast.data_engineering.transformation.enrichment import enrich_with_zones
from tripcast.data_engineering.transformation.features import add_trip_features
from tripcast.data_engineering.transformation.plan import (
    TransformOutputs,
    aggregate_history,
    aggregate_splits,
    transform_trips,
)

__all__ = [
    "Engine",
    "ParquetOutput",
    "TransformOutputs",
    "add_trip_features",
    "aggregate_history",
    "aggregate_splits",
    "clean_trips",
    "enrich_with_zones",
    "open_engine",
    "quarantine_trips",
    "split_trips",
    "transform_trips",
    "zone_hour_features",
    "zone_pair_features",
]

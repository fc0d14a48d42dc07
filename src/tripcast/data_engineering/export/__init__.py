"""Export: parquet partitions (written by the transform step), PostgreSQL upserts, HTTP JSON batches."""

from tripcast.data_engineering.export.features import FEATURE_KEYS, export_features
from tripcast.data_engineering.export.http import DeliveryError, HttpExporter
from tripcast.data_engineering.export.postgres import PostgresExporter

__all__ = ["FEATURE_KEYS", "DeliveryError", "HttpExporter", "PostgresExporter", "export_features"]

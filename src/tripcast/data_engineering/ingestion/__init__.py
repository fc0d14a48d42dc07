"""Ingestion sources beyond TLC files: SQL databases, paginated REST APIs, web scraping of TLC's month list.

Stream sources (Redis Streams, NATS JetStream) live in :mod:`tripcast.data_engineering.streaming`.
"""

from tripcast.data_engineering.ingestion.database import IncrementalBatch, SqlTripSource, WatermarkStore
from tripcast.data_engineering.ingestion.records import records_to_trips
from tripcast.data_engineering.ingestion.rest import ApiSourceError, RateLimiter, RestTripSource
from tripcast.data_engineering.ingestion.web_scraping import TlcFileLink, available_months, parse_tlc_links

__all__ = [
    "ApiSourceError",
    "IncrementalBatch",
    "RateLimiter",
    "RestTripSource",
    "SqlTripSource",
    "TlcFileLink",
    "WatermarkStore",
    "available_months",
    "parse_tlc_links",
    "records_to_trips",
]

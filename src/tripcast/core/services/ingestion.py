"""Ingest a month of trips (validation lives in :mod:`tripcast.core.services.validation`)."""

from __future__ import annotations

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import TripDataSource

# Re-exported for callers that still import it from here (cli/options.py, cli/demo.py); new code imports
# it from tripcast.core.services.validation.
from tripcast.core.services.validation import ValidationReport

__all__ = ["ValidationReport", "ingest_month"]


def ingest_month(source: TripDataSource, month: Month) -> str:
    """Make a month's raw file available locally; return its location."""
    return source.fetch(month)

"""Port of the zone feature store's maintenance: offline tables in, online store out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime


class ZoneFeatureMaintenance(ABC):
    """Builds the offline zone tables and loads them into the online store."""

    @abstractmethod
    def build_offline_tables(self, trips: list[str], tlc: list[str]) -> tuple[dict[str, int], list[str]]:
        """Offline tables from validated trips, raw TLC files, or else what the pipeline wrote.

        Returns rows per feature view and notes for the user (which inputs were used).
        """

    @abstractmethod
    def materialize(self, start: datetime, end: datetime) -> None:
        """Load feature values of ``start``..``end`` into the online store."""

    @abstractmethod
    def freshness(self, at: datetime) -> dict[str, float]:
        """Seconds between ``at`` and each view's newest online row."""

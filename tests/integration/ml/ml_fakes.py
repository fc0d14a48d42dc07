"""In-test implementations of the DatasetStore and Clock ports (the real ones belong to other areas)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.month import Month
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.data import DatasetStore


class MemoryDatasetStore(DatasetStore):
    """Processed months held in memory (the services only need load_processed)."""

    def __init__(self, months: dict[Month, pd.DataFrame]) -> None:
        self.processed = dict(months)
        self.quarantined: dict[Month, pd.DataFrame] = {}

    def save_processed(self, month: Month, table: pd.DataFrame) -> str:
        self.processed[month] = table
        return f"memory://processed/{month}"

    def save_quarantine(self, month: Month, table: pd.DataFrame) -> str:
        self.quarantined[month] = table
        return f"memory://quarantine/{month}"

    def load_processed(self, month: Month) -> pd.DataFrame:
        if month not in self.processed:
            raise NotFoundError(f"month {month} not processed")
        return self.processed[month]

    def has_processed(self, month: Month) -> bool:
        return month in self.processed

    def load_processed_months(self, months: Sequence[Month]) -> pd.DataFrame:
        return pd.concat([self.load_processed(month) for month in months], ignore_index=True)


class FixedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

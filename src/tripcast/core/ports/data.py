"""Ports for getting trips in, checking them and keeping them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from tripcast.core.domain.month import Month
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class RawDataset:
    """A month of raw trips and where they came from."""

    table: Table
    month: Month
    source: str
    digest: str = ""


class TripDataSource(ABC):
    """Where raw trip records come from (TLC files, a database, an API, a stream...)."""

    @abstractmethod
    def fetch(self, month: Month) -> str:
        """Make the month available locally (download if needed); return where it lives."""

    @abstractmethod
    def load(self, month: Month) -> RawDataset:
        """Read one month of raw trips in the canonical schema."""


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    """Rows split into valid and quarantined; ``reasons`` counts quarantined rows per reason."""

    valid: Table
    quarantined: Table
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        return len(self.valid)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantined)


class TripValidator(ABC):
    """Splits raw trips into valid rows and quarantined rows with reasons."""

    @abstractmethod
    def split(self, dataset: RawDataset) -> ValidationOutcome:
        """Every input row ends up in exactly one of the two outputs."""


class DatasetStore(ABC):
    """Keeps processed and quarantined trips between steps."""

    @abstractmethod
    def save_processed(self, month: Month, table: Table) -> str:
        """Store valid rows for the month; return the location."""

    @abstractmethod
    def save_quarantine(self, month: Month, table: Table) -> str:
        """Store quarantined rows (with their reason column); return the location."""

    @abstractmethod
    def load_processed(self, month: Month) -> Table:
        """Valid rows of a month previously saved; NotFoundError if absent."""

    @abstractmethod
    def has_processed(self, month: Month) -> bool:
        """Whether the month was already processed."""

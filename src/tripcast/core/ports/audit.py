"""The audit trail port: an append-only record of model and data changes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection

from tripcast.core.domain.audit import AuditEvent


class AuditLog(ABC):
    """Append-only: events are recorded and read back, never changed or deleted."""

    @abstractmethod
    def record(self, event: AuditEvent) -> None:
        """Append one event."""

    @abstractmethod
    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        """Newest events first, optionally only subjects starting with ``subject_prefix``
        and only the given ``actions``."""

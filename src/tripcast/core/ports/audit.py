"""The audit trail ports: an append-only record of model and data changes, and one that proves it intact."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection

from tripcast.core.domain.audit import AuditChainBrokenError, AuditEvent, VerifiedTrail

# AuditChainBrokenError is named in the port's contract (verify raises it).
__all__ = ["AuditChainBrokenError", "AuditLog", "VerifiableAuditLog", "VerifiedTrail"]


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


class VerifiableAuditLog(AuditLog):
    """An audit trail that can prove it was not changed: each row chained and signed with a key."""

    @abstractmethod
    def verify(self) -> VerifiedTrail:
        """Check every row and the signed head; raises :class:`AuditChainBrokenError` naming the first bad row."""

    @abstractmethod
    def adopt_legacy(self) -> int:
        """Check a trail written before the chain was keyed and sign it as a legacy segment; rows adopted."""

"""Use cases of the audit trail: read it, prove it intact, adopt a trail written before it was keyed."""

from __future__ import annotations

from tripcast.core.domain.audit import AuditEvent, VerifiedTrail
from tripcast.core.ports.audit import VerifiableAuditLog
from tripcast.core.ports.clock import Clock

#: The action recorded when a legacy (unkeyed) trail is adopted and signed.
LEGACY_ADOPTED_ACTION = "audit.legacy_adopted"


class AuditTrailService:
    """Reads and checks the trail every other use case writes to."""

    def __init__(self, audit: VerifiableAuditLog, clock: Clock) -> None:
        self._audit = audit
        self._clock = clock

    def recent(self, subject_prefix: str = "", limit: int = 50) -> list[AuditEvent]:
        """Newest events first, only subjects starting with ``subject_prefix``."""
        return self._audit.events(subject_prefix, limit)

    def verify(self) -> VerifiedTrail:
        """Check every row and the signed head; raises ``AuditChainBrokenError`` naming the first bad row."""
        return self._audit.verify()

    def adopt_legacy(self, actor: str) -> int:
        """Sign a legacy trail as a legacy segment, then record that it was adopted (the first keyed row)."""
        adopted = self._audit.adopt_legacy()
        self._audit.record(
            AuditEvent(
                at=self._clock.now(),
                actor=actor,
                action=LEGACY_ADOPTED_ACTION,
                subject="audit:trail",
                details={"rows_adopted": str(adopted)},
            )
        )
        return adopted

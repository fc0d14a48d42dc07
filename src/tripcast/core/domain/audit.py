"""Audit events: who changed which model or dataset, how, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tripcast.core.domain.errors import TripcastError


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change to a model or a dataset, kept forever in the audit trail."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifiedTrail:
    """What a verification of the trail checked: rows, how many are legacy (unkeyed), and the signed head."""

    events: int
    legacy_events: int
    last_id: int
    head_hash: str


class AuditChainBrokenError(TripcastError):
    """A stored row or the signed head no longer matches: the trail was tampered with (or the key changed)."""

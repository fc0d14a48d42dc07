"""Audit events: who changed which model or dataset, how, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change to a model or a dataset, kept forever in the audit trail."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, str] = field(default_factory=dict)

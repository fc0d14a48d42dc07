"""Ports of the approval workflow: where requests are kept, and the evidence a policy judges on."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tripcast.core.domain.approval import ApprovalRequest, ApprovalState, DriftCheck, GateSnapshot
from tripcast.core.domain.evaluation import ModelVersion


class ApprovalStore(Protocol):
    """Approval requests, durable; a state change is a compare-and-set on the current state."""

    def add(self, request: ApprovalRequest) -> None:
        """Keep a new request."""
        ...

    def get(self, request_id: str) -> ApprovalRequest | None:
        """The request with that id, or None."""
        ...

    def transition(
        self,
        request_id: str,
        *,
        expected: ApprovalState,
        new: ApprovalState,
        decided_by: str,
        decided_at: datetime,
        note: str,
    ) -> ApprovalRequest | None:
        """Move the request from ``expected`` to ``new``; None (nothing changed) when it is not in ``expected``."""
        ...

    def list_requests(
        self, *, model: str | None = None, state: ApprovalState | None = None, limit: int = 100
    ) -> list[ApprovalRequest]:
        """Requests, newest first."""
        ...


class PromotionGate(Protocol):
    """The promotion gate, run without moving any alias."""

    def check(self, candidate: ModelVersion) -> GateSnapshot:
        """The gate's verdict for ``candidate`` against the current champion on its validation month."""
        ...


class DriftEvidence(Protocol):
    """Dataset drift of a version's validation month against the version's reference profile."""

    def check(self, candidate: ModelVersion, month: str) -> DriftCheck:
        """Whether ``month`` drifted against ``candidate``'s reference profile."""
        ...

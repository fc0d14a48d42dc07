"""In-memory fakes of the approval ports: the request store and the drift evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tripcast.core.domain.approval import ApprovalRequest, ApprovalState, DriftCheck
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.approval import ApprovalStore, DriftEvidence


class FakeApprovalStore(ApprovalStore):
    """Requests in a dict, with the same compare-and-set transition as the SQL store."""

    def __init__(self) -> None:
        self.rows: dict[str, ApprovalRequest] = {}

    def add(self, request: ApprovalRequest) -> None:
        assert request.request_id not in self.rows
        self.rows[request.request_id] = request

    def get(self, request_id: str) -> ApprovalRequest | None:
        return self.rows.get(request_id)

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
        current = self.rows.get(request_id)
        if current is None or current.state is not expected:
            return None
        moved = replace(current, state=new, decided_by=decided_by, decided_at=decided_at, decision_note=note)
        self.rows[request_id] = moved
        return moved

    def list_requests(
        self, *, model: str | None = None, state: ApprovalState | None = None, limit: int = 100
    ) -> list[ApprovalRequest]:
        rows = [r for r in self.rows.values() if (model is None or r.model == model) and (state in (None, r.state))]
        return sorted(rows, key=lambda r: r.created_at, reverse=True)[:limit]


class FakeDrift(DriftEvidence):
    """Drift verdicts per month: ``drifted`` names the months that drifted."""

    def __init__(self, drifted: set[str] | None = None, failure: Exception | None = None) -> None:
        self.drifted = drifted or set()
        self.failure = failure
        self.checked: list[tuple[str, str]] = []

    def check(self, candidate: ModelVersion, month: str) -> DriftCheck:
        self.checked.append((candidate.version, month))
        if self.failure is not None:
            raise self.failure
        drifted = month in self.drifted
        return DriftCheck(drifted, "drifted columns: trip_distance" if drifted else "drifted columns: none")

"""The approval workflow's vocabulary: requests, their states, policies and the checks a policy runs.

Generic: a request names a model and a version, never anything taxi-specific. A policy is plain data
(its YAML file is validated by ``tripcast.mlops.governance.policy``); the decision what a policy demands
of an approval is :func:`policy_problems`, a pure function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tripcast.core.domain.errors import TripcastError

REQUESTED = "approval.requested"
APPROVED = "approval.approved"
REJECTED = "approval.rejected"
#: The automatic approval of a policy that approves on a passing gate (e.g. ``local``).
AUTO_APPROVER = "policy:auto-approve"


class ApprovalState(StrEnum):
    """Where a request stands: pending -> approved -> promoted, or pending -> rejected."""

    PENDING = "pending"
    APPROVED = "approved"
    PROMOTED = "promoted"
    REJECTED = "rejected"
    #: Approved, but the promotion itself did not happen (e.g. the champion changed and the gate now says no).
    FAILED = "failed"


class ApprovalRefusedError(TripcastError):
    """A step of the workflow the policy or the request's state does not allow; nothing was changed."""


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """What an environment demands before a requested version becomes champion."""

    environment: str
    #: Approve (and promote) at request time when the gate passes: no human step (a laptop).
    auto_approve_when_gate_passes: bool = False
    require_distinct_approver: bool = True
    require_passing_gate: bool = True
    #: No dataset drift on the candidate's validation month against the candidate's reference profile.
    require_no_drift: bool = False
    #: A decided experiment with verdict ship whose treatment arm is the version (its id goes to the ledger).
    require_won_experiment: bool = False


@dataclass(frozen=True, slots=True)
class GateSnapshot:
    """The promotion gate's verdict for a version against the champion, with the metrics behind it."""

    passed: bool
    reason: str
    validation_month: str
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    champion_version: str = ""
    champion_metrics: dict[str, float] = field(default_factory=dict)

    def as_details(self) -> dict[str, str]:
        """Flat strings for an audit event."""
        details = {"gate.passed": str(self.passed).lower(), "gate.reason": self.reason}
        details["gate.validation_month"] = self.validation_month
        details["gate.champion"] = self.champion_version
        details |= {f"gate.candidate.{k}": f"{v:.6g}" for k, v in sorted(self.candidate_metrics.items())}
        details |= {f"gate.champion.{k}": f"{v:.6g}" for k, v in sorted(self.champion_metrics.items())}
        return details


@dataclass(frozen=True, slots=True)
class DriftCheck:
    """Whether the data a version was validated on drifted, and why."""

    drifted: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One request to promote ``model`` version ``version`` to champion."""

    request_id: str
    model: str
    version: str
    requested_by: str
    reason: str
    created_at: datetime
    environment: str
    state: ApprovalState = ApprovalState.PENDING
    gate: GateSnapshot | None = None
    decided_by: str = ""
    decided_at: datetime | None = None
    decision_note: str = ""

    @property
    def subject(self) -> str:
        """The audit subject of this request."""
        return f"model:{self.model}/{self.version}"


@dataclass(frozen=True, slots=True)
class PolicyEvidence:
    """What an approval is judged on."""

    approver: str
    gate: GateSnapshot
    drift: DriftCheck | None = None
    #: Why no drift check could be made (when ``drift`` is None although the policy asks for one).
    drift_failure: str = ""
    experiment_won: bool | None = None


def policy_problems(policy: ApprovalPolicy, request: ApprovalRequest, evidence: PolicyEvidence) -> list[str]:
    """Every rule of ``policy`` the approval of ``request`` on ``evidence`` breaks (empty: allowed)."""
    problems: list[str] = []
    if policy.require_distinct_approver and evidence.approver == request.requested_by:
        problems.append(
            f"{policy.environment} policy requires an approver other than the requester ({request.requested_by!r})"
        )
    if policy.require_passing_gate and not evidence.gate.passed:
        problems.append(f"v{request.version} failed the promotion gate: {evidence.gate.reason}")
    if policy.require_no_drift:
        if evidence.drift is None:
            why = evidence.drift_failure or "no drift checker is configured"
            problems.append(
                f"policy requires a drift check on validation month {evidence.gate.validation_month}: {why}"
            )
        elif evidence.drift.drifted:
            problems.append(
                f"dataset drift on validation month {evidence.gate.validation_month}: {evidence.drift.detail}"
            )
    if policy.require_won_experiment and not evidence.experiment_won:
        problems.append(
            f"{policy.environment} policy requires a won experiment for v{request.version}: no decided "
            f"experiment with verdict 'ship' has v{request.version} as its treatment arm"
        )
    return problems


def approval_payload(request: ApprovalRequest) -> dict[str, Any]:
    """A request as JSON-ready data: the CLI's ``--json`` and the API's body."""
    gate = request.gate
    return {
        "request_id": request.request_id,
        "model": request.model,
        "version": request.version,
        "state": request.state.value,
        "requested_by": request.requested_by,
        "reason": request.reason,
        "environment": request.environment,
        "created_at": request.created_at.isoformat(timespec="seconds"),
        "decided_by": request.decided_by or None,
        "decided_at": request.decided_at.isoformat(timespec="seconds") if request.decided_at else None,
        "decision_note": request.decision_note or None,
        "gate": None
        if gate is None
        else {
            "passed": gate.passed,
            "reason": gate.reason,
            "validation_month": gate.validation_month,
            "candidate_metrics": gate.candidate_metrics,
            "champion_version": gate.champion_version or None,
            "champion_metrics": gate.champion_metrics,
        },
    }

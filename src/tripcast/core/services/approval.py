"""The approval workflow: request -> approve | reject -> promote, by identities with roles, under a policy.

Each step is audited (``approval.requested``, ``approval.approved``, ``approval.rejected``); the promotion
itself goes through the :class:`~tripcast.core.services.promotion.Promotion` service, which records
``model.promoted``. A refused step raises :class:`ApprovalRefusedError` (or ``NotFoundError``) before
anything is written: the request, the aliases and the trail stay as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tripcast.core.domain.access import Identity, Permission, roles_with
from tripcast.core.domain.approval import (
    APPROVED,
    AUTO_APPROVER,
    REJECTED,
    REQUESTED,
    ApprovalPolicy,
    ApprovalRefusedError,
    ApprovalRequest,
    ApprovalState,
    DriftCheck,
    GateSnapshot,
    PolicyEvidence,
    policy_problems,
)
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import (
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    TripcastError,
)
from tripcast.core.domain.evaluation import ModelVersion, decide_promotion
from tripcast.core.domain.ledger import LedgerNote
from tripcast.core.ports.approval import ApprovalStore, DriftEvidence, PromotionGate
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.services.promotion import CHAMPION, Promotion

#: (model, version) -> the id of a decided experiment whose verdict shipped that version, None when none did.
WonExperiment = Callable[[str, str], str | None]

#: Who may ask for a promotion, and who may decide one.
REQUEST_PERMISSION = Permission.OPERATE
DECIDE_PERMISSION = Permission.APPROVE


class GateThroughPromotion(PromotionGate):
    """The gate of the :class:`Promotion` service (``decide_promotion``), evaluated without moving an alias."""

    def __init__(self, promotion: Promotion) -> None:
        self.promotion = promotion

    def check(self, candidate: ModelVersion) -> GateSnapshot:
        promotion = self.promotion
        month = promotion.validation_month(candidate)
        trips = promotion.store.load_processed(month)
        candidate_eval, _ = promotion.evaluate(candidate.name, candidate.version, trips, str(month))
        champion = promotion.registry.find_alias(candidate.name, CHAMPION)
        champion_eval = None
        if champion is not None and champion.version != candidate.version:
            champion_eval, _ = promotion.evaluate(candidate.name, champion.version, trips, str(month))
        decision = decide_promotion(promotion.features.spec, candidate_eval, champion_eval)
        return GateSnapshot(
            passed=decision.approved,
            reason=decision.reason,
            validation_month=str(month),
            candidate_metrics=dict(candidate_eval.metrics),
            champion_version=champion.version if champion is not None else "",
            champion_metrics=dict(champion_eval.metrics) if champion_eval is not None else {},
        )


class Approvals:
    """The approval use cases; built by the root (``tc.approvals``) with the environment's policy."""

    def __init__(
        self,
        *,
        store: ApprovalStore,
        promotion: Promotion,
        gate: PromotionGate,
        policy: ApprovalPolicy,
        clock: Clock,
        audit: AuditLog,
        drift: DriftEvidence | None = None,
        won_experiment: WonExperiment | None = None,
    ) -> None:
        self.store = store
        self.promotion = promotion
        self.gate = gate
        self.policy = policy
        self.clock = clock
        self.audit = audit
        self.drift = drift
        #: (model, version) -> the id of a decided experiment that shipped it (policy require_won_experiment).
        self.won_experiment = won_experiment

    def request(self, model: str, version: str, *, requester: Identity, reason: str) -> ApprovalRequest:
        """Ask for ``version`` to become champion; with an auto-approving policy and a passing gate, promote it."""
        _require(requester, REQUEST_PERMISSION, "request a promotion")
        if not reason.strip():
            raise InvalidInputError([FieldProblem("reason", "say why this version should become champion")])
        candidate = self.promotion.candidate(model, version)
        if CHAMPION in candidate.aliases:
            raise ApprovalRefusedError(f"{model} v{candidate.version} is already the champion: nothing to approve")
        gate = self.gate.check(candidate)
        request = ApprovalRequest(
            request_id=uuid.uuid4().hex[:12],
            model=model,
            version=candidate.version,
            requested_by=requester.name,
            reason=reason.strip(),
            created_at=self.clock.now(),
            environment=self.policy.environment,
            gate=gate,
        )
        self.store.add(request)
        self._record(requester.name, REQUESTED, request, {"reason": request.reason, **gate.as_details()})
        if self.policy.auto_approve_when_gate_passes and gate.passed:
            return self._approve(request, AUTO_APPROVER, "gate passed; auto-approved by policy", gate)
        return request

    def approve(self, request_id: str, *, approver: Identity, note: str = "") -> ApprovalRequest:
        """Approve a pending request under the policy, then promote its version through the gate."""
        _require(approver, DECIDE_PERMISSION, "approve a promotion")
        request = self.pending(request_id)
        candidate = self.promotion.candidate(request.model, request.version)
        gate = self.gate.check(candidate)
        drift, drift_failure = self._drift(candidate, gate.validation_month)
        experiment_id = self._won_experiment(request)
        evidence = PolicyEvidence(
            approver=approver.name,
            gate=gate,
            drift=drift,
            drift_failure=drift_failure,
            experiment_won=bool(experiment_id),
        )
        problems = policy_problems(self.policy, request, evidence)
        if problems:
            raise ApprovalRefusedError(f"cannot approve request {request_id}: " + "; ".join(problems))
        return self._approve(request, approver.name, note.strip() or "approved", gate, experiment_id)

    def _won_experiment(self, request: ApprovalRequest) -> str:
        """The experiment that shipped the requested version, when the policy asks for one ("" otherwise)."""
        if not self.policy.require_won_experiment or self.won_experiment is None:
            return ""
        return self.won_experiment(request.model, request.version) or ""

    def _drift(self, candidate: ModelVersion, month: str) -> tuple[DriftCheck | None, str]:
        """The drift evidence the policy asks for; a check that cannot be made refuses (fails closed)."""
        if not self.policy.require_no_drift or self.drift is None:
            return None, ""
        try:
            return self.drift.check(candidate, month), ""
        except TripcastError as exc:
            return None, f"the check failed: {exc}"

    def reject(self, request_id: str, *, approver: Identity, reason: str) -> ApprovalRequest:
        """Reject a pending request; nothing is promoted."""
        _require(approver, DECIDE_PERMISSION, "reject a promotion")
        if not reason.strip():
            raise InvalidInputError([FieldProblem("reason", "say why the request is rejected")])
        request = self.pending(request_id)
        rejected = self._transition(request, ApprovalState.REJECTED, approver.name, reason.strip())
        self._record(approver.name, REJECTED, rejected, {"reason": rejected.decision_note})
        return rejected

    def pending(self, request_id: str) -> ApprovalRequest:
        """The request, which must still be pending."""
        request = self.get(request_id)
        if request.state is not ApprovalState.PENDING:
            raise ApprovalRefusedError(
                f"request {request_id} is {request.state.value} (by {request.decided_by or 'nobody'}), not pending"
            )
        return request

    def get(self, request_id: str) -> ApprovalRequest:
        """The request with that id; NotFoundError naming it otherwise."""
        request = self.store.get(request_id.strip())
        if request is None:
            raise NotFoundError(f"approval request {request_id!r} not found")
        return request

    def list_requests(self, *, model: str | None = None, state: ApprovalState | None = None) -> list[ApprovalRequest]:
        """Requests, newest first."""
        return self.store.list_requests(model=model, state=state)

    def _approve(
        self, request: ApprovalRequest, approver: str, note: str, gate: GateSnapshot, experiment_id: str = ""
    ) -> ApprovalRequest:
        approved = self._transition(request, ApprovalState.APPROVED, approver, note)
        self._record(
            approver, APPROVED, approved, {"note": note, "requested_by": request.requested_by, **gate.as_details()}
        )
        candidate = self.promotion.candidate(request.model, request.version)
        reason = f"approval {request.request_id} by {approver}: {request.reason}"
        # The ledger row names both: the requester as its actor (who asked for the move), the approver in
        # its approver column; the audit event ``model.promoted`` is the approver's act.
        ledger_note = LedgerNote(
            actor=request.requested_by, reason=reason, approver=approver, experiment_id=experiment_id
        )
        try:
            self.promotion.promote(candidate, actor=approver, reason=reason, note=ledger_note)
        except Exception as exc:
            # Approved but not promoted (the gate changed its mind, another promotion held the lock, the
            # registry failed): the request says so, and a new request starts over.
            self._transition(approved, ApprovalState.FAILED, approver, f"{type(exc).__name__}: {exc}")
            raise
        return self._transition(approved, ApprovalState.PROMOTED, approver, note)

    def _transition(self, request: ApprovalRequest, new: ApprovalState, actor: str, note: str) -> ApprovalRequest:
        moved = self.store.transition(
            request.request_id,
            expected=request.state,
            new=new,
            decided_by=actor,
            decided_at=self.clock.now(),
            note=note,
        )
        if moved is None:
            current = self.get(request.request_id)
            raise ApprovalRefusedError(
                f"request {request.request_id} is {current.state.value} now (by {current.decided_by}), "
                f"not {request.state.value}: decided concurrently"
            )
        return moved

    def _record(self, actor: str, action: str, request: ApprovalRequest, details: dict[str, str]) -> None:
        common = {"request_id": request.request_id, "environment": request.environment, "state": request.state.value}
        self.audit.record(AuditEvent(self.clock.now(), actor, action, request.subject, {**common, **details}))


def _require(identity: Identity, permission: Permission, what: str) -> None:
    if not identity.can(permission):
        roles = ", ".join(role.value for role in roles_with(permission))
        raise ApprovalRefusedError(f"{identity.name!r} (role {identity.role.value}) may not {what}: needs role {roles}")

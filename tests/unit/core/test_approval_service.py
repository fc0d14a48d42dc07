"""The approval workflow over in-memory fakes: results, the request's state and the audit events written."""

from __future__ import annotations

import pytest

from support.fakes_approvals import FakeApprovalStore, FakeDrift
from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import FakeAudit, FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeRegistry, FakeStore
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.approval import (
    APPROVED,
    AUTO_APPROVER,
    REJECTED,
    REQUESTED,
    ApprovalPolicy,
    ApprovalRefusedError,
    ApprovalState,
)
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.ledger import LedgerNote
from tripcast.core.domain.month import Month
from tripcast.core.ports.locks import LockHeldError, promotion_lock
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.promotion import CHAMPION, PROMOTED, Promotion

NAME = "trip-duration"
MONTHS = {Month(2021, 2): [1.0, 2.0]}
OPERATOR = Identity("olga", Role.OPERATOR)
APPROVER = Identity("ada", Role.APPROVER)
ADMIN = Identity("root", Role.ADMIN)
PRODUCTION = ApprovalPolicy(environment="production", require_no_drift=True)
LOCAL = ApprovalPolicy(environment="local", auto_approve_when_gate_passes=True, require_distinct_approver=False)


def make(policy: ApprovalPolicy, drift: FakeDrift | None = None) -> tuple[Approvals, FakeRegistry, FakeAudit]:
    # v1 is champion (rmse 3); v2 beats it (2), v3 does not (5).
    registry = FakeRegistry({"1": 3.0, "2": 2.0, "3": 5.0}, tags={v: {"valid_month": "2021-02"} for v in "123"})
    registry.aliases[CHAMPION] = "1"
    audit = FakeAudit()
    promotion = Promotion(
        registry=registry,
        store=FakeStore(dict(MONTHS)),
        features=FakeFeatures(),
        metrics=FakeMetrics(registry),
        clock=FakeClock(),
        audit=audit,
        locks=FakeLocks(),
    )
    approvals = Approvals(
        store=FakeApprovalStore(),
        promotion=promotion,
        gate=GateThroughPromotion(promotion),
        policy=policy,
        clock=FakeClock(),
        audit=audit,
        drift=drift if drift is not None else FakeDrift(),
    )
    return approvals, registry, audit


def test_production_request_then_approval_by_another_identity_promotes_and_audits_every_step() -> None:
    approvals, registry, audit = make(PRODUCTION)

    request = approvals.request(NAME, "2", requester=OPERATOR, reason="better on february")
    assert request.state is ApprovalState.PENDING and registry.aliases[CHAMPION] == "1"
    assert request.gate is not None and request.gate.passed and request.gate.champion_version == "1"
    assert request.gate.candidate_metrics["rmse"] == 2.0 and request.gate.champion_metrics["rmse"] == 3.0

    done = approvals.approve(request.request_id, approver=APPROVER, note="looks good")

    assert done.state is ApprovalState.PROMOTED and done.decided_by == "ada"
    assert registry.aliases[CHAMPION] == "2"
    steps = [e.action for e in audit.rows if e.action in {REQUESTED, APPROVED, PROMOTED}]
    assert steps == [REQUESTED, APPROVED, PROMOTED]
    requested, approved = audit.rows[0], next(e for e in audit.rows if e.action == APPROVED)
    assert (requested.actor, requested.subject) == ("olga", f"model:{NAME}/2")
    assert requested.details["request_id"] == request.request_id and requested.details["gate.passed"] == "true"
    assert approved.actor == "ada" and approved.details["requested_by"] == "olga"
    promoted = next(e for e in audit.rows if e.action == PROMOTED)
    assert promoted.actor == "ada" and request.request_id in promoted.details["promotion.reason"]


def test_local_policy_auto_approves_a_passing_gate_at_request_time() -> None:
    approvals, registry, audit = make(LOCAL)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="nightly")
    assert request.state is ApprovalState.PROMOTED and request.decided_by == AUTO_APPROVER
    assert registry.aliases[CHAMPION] == "2"
    assert [e.action for e in audit.rows if e.action.startswith("approval.")] == [REQUESTED, APPROVED]


def test_local_policy_leaves_a_failing_gate_pending() -> None:
    approvals, registry, _ = make(LOCAL)
    request = approvals.request(NAME, "3", requester=OPERATOR, reason="try")
    assert request.state is ApprovalState.PENDING and registry.aliases[CHAMPION] == "1"


def _assert_nothing_changed(approvals: Approvals, registry: FakeRegistry, audit: FakeAudit, n_events: int) -> None:
    assert registry.aliases[CHAMPION] == "1"
    assert len(audit.rows) == n_events
    assert all(r.state is ApprovalState.PENDING for r in approvals.list_requests())


def test_approving_your_own_request_in_production_is_refused_and_changes_nothing() -> None:
    approvals, registry, audit = make(PRODUCTION)
    request = approvals.request(NAME, "2", requester=ADMIN, reason="mine")
    n_events = len(audit.rows)
    with pytest.raises(ApprovalRefusedError, match="approver other than the requester \\('root'\\)"):
        approvals.approve(request.request_id, approver=ADMIN)
    _assert_nothing_changed(approvals, registry, audit, n_events)


def test_approving_a_version_that_failed_the_gate_is_refused_and_changes_nothing() -> None:
    approvals, registry, audit = make(PRODUCTION)
    request = approvals.request(NAME, "3", requester=OPERATOR, reason="worse")
    assert request.gate is not None and not request.gate.passed
    n_events = len(audit.rows)
    with pytest.raises(ApprovalRefusedError, match="v3 failed the promotion gate"):
        approvals.approve(request.request_id, approver=APPROVER)
    _assert_nothing_changed(approvals, registry, audit, n_events)


def test_drift_on_the_validation_month_blocks_approval_in_production() -> None:
    drift = FakeDrift({"2021-02"})
    approvals, registry, audit = make(PRODUCTION, drift)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    n_events = len(audit.rows)
    with pytest.raises(ApprovalRefusedError, match="dataset drift on validation month 2021-02: drifted columns"):
        approvals.approve(request.request_id, approver=APPROVER)
    assert drift.checked == [("2", "2021-02")]
    _assert_nothing_changed(approvals, registry, audit, n_events)


def test_a_drift_check_that_cannot_be_made_refuses_the_approval() -> None:
    drift = FakeDrift(failure=NotFoundError("no green TLC file for 2021-02 under /data/raw"))
    approvals, registry, audit = make(PRODUCTION, drift)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    with pytest.raises(
        ApprovalRefusedError, match="drift check on validation month 2021-02: the check failed: no green"
    ):
        approvals.approve(request.request_id, approver=APPROVER)
    _assert_nothing_changed(approvals, registry, audit, 1)


def test_an_approval_whose_promotion_cannot_run_ends_failed_not_stuck() -> None:
    approvals, registry, _ = make(PRODUCTION)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    locks = approvals.promotion.locks
    assert isinstance(locks, FakeLocks)
    locks.held.add(promotion_lock(NAME))  # another promotion of the model is running
    with pytest.raises(LockHeldError):
        approvals.approve(request.request_id, approver=APPROVER)
    failed = approvals.get(request.request_id)
    assert failed.state is ApprovalState.FAILED and "LockHeldError" in failed.decision_note
    assert registry.aliases[CHAMPION] == "1"


def test_required_experiment_is_not_satisfied_until_experiments_exist() -> None:
    policy = ApprovalPolicy(environment="production", require_won_experiment=True)
    approvals, registry, audit = make(policy)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    with pytest.raises(ApprovalRefusedError, match="requires a won experiment for v2"):
        approvals.approve(request.request_id, approver=APPROVER)
    _assert_nothing_changed(approvals, registry, audit, 1)


def test_unknown_request_id_is_not_found() -> None:
    approvals, registry, audit = make(PRODUCTION)
    with pytest.raises(NotFoundError, match="approval request 'nope' not found"):
        approvals.approve("nope", approver=APPROVER)
    with pytest.raises(NotFoundError, match="approval request 'nope' not found"):
        approvals.reject("nope", approver=APPROVER, reason="no")
    assert audit.rows == [] and registry.aliases[CHAMPION] == "1"


def test_roles_are_enforced_for_each_step() -> None:
    approvals, _, audit = make(PRODUCTION)
    with pytest.raises(ApprovalRefusedError, match="'v' \\(role viewer\\) may not request a promotion"):
        approvals.request(NAME, "2", requester=Identity("v", Role.VIEWER), reason="x")
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    with pytest.raises(ApprovalRefusedError, match="may not approve a promotion: needs role approver, admin"):
        approvals.approve(request.request_id, approver=Identity("op2", Role.OPERATOR))
    with pytest.raises(ApprovalRefusedError, match="may not reject"):
        approvals.reject(request.request_id, approver=OPERATOR, reason="x")
    assert [e.action for e in audit.rows] == [REQUESTED]


def test_reject_records_the_reason_and_a_decided_request_cannot_be_decided_again() -> None:
    approvals, registry, audit = make(PRODUCTION)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    with pytest.raises(InvalidInputError, match="reason"):
        approvals.reject(request.request_id, approver=APPROVER, reason="  ")
    rejected = approvals.reject(request.request_id, approver=APPROVER, reason="not on a friday")
    assert rejected.state is ApprovalState.REJECTED and rejected.decision_note == "not on a friday"
    assert audit.rows[-1].action == REJECTED and audit.rows[-1].details["reason"] == "not on a friday"
    with pytest.raises(ApprovalRefusedError, match="is rejected \\(by ada\\), not pending"):
        approvals.approve(request.request_id, approver=APPROVER)
    assert registry.aliases[CHAMPION] == "1" and len(audit.rows) == 2


def test_request_of_an_unknown_version_writes_nothing() -> None:
    approvals, _, audit = make(PRODUCTION)
    with pytest.raises(NotFoundError):
        approvals.request(NAME, "9", requester=OPERATOR, reason="x")
    with pytest.raises(InvalidInputError, match="reason"):
        approvals.request(NAME, "2", requester=OPERATOR, reason=" ")
    with pytest.raises(ApprovalRefusedError, match="v1 is already the champion"):
        approvals.request(NAME, CHAMPION, requester=OPERATOR, reason="again")
    assert audit.rows == [] and approvals.list_requests() == []


def _with_ledger(policy: ApprovalPolicy) -> tuple[Approvals, FakeLedger]:
    """The approvals of :func:`make`, whose promotions go through an in-memory ledger."""
    registry = TaggingRegistry({"1": 3.0, "2": 2.0, "3": 5.0}, tags={v: {"valid_month": "2021-02"} for v in "123"})
    registry.aliases[CHAMPION] = "1"
    ledger = FakeLedger(registry)
    audit = FakeAudit()
    promotion = Promotion(
        registry=registry,
        store=FakeStore(dict(MONTHS)),
        features=FakeFeatures(),
        metrics=FakeMetrics(registry),
        clock=FakeClock(),
        audit=audit,
        locks=FakeLocks(),
        ledger=ledger,
    )
    gate = GateThroughPromotion(promotion)
    approvals = Approvals(
        store=FakeApprovalStore(), promotion=promotion, gate=gate, policy=policy, clock=FakeClock(), audit=audit
    )
    return approvals, ledger


def test_an_approved_promotion_writes_requester_as_actor_and_approver_on_its_ledger_row() -> None:
    approvals, ledger = _with_ledger(ApprovalPolicy(environment="production"))
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="better on february")
    assert ledger.rows == []

    approvals.approve(request.request_id, approver=APPROVER)

    (row,) = ledger.rows
    assert (row.alias, row.from_version, row.to_version) == (CHAMPION, "1", "2")
    assert (row.actor, row.approver) == ("olga", "ada")
    assert request.request_id in row.reason and "better on february" in row.reason
    assert (row.gate_metrics["candidate.rmse"], row.gate_metrics["champion.rmse"]) == (2.0, 3.0)


def test_an_auto_approved_promotion_names_the_policy_as_approver_on_its_ledger_row() -> None:
    approvals, ledger = _with_ledger(LOCAL)
    approvals.request(NAME, "2", requester=OPERATOR, reason="nightly")
    (row,) = ledger.rows
    assert (row.actor, row.approver, row.to_version) == ("olga", AUTO_APPROVER, "2")


def test_promote_writes_the_given_note_with_the_gate_metrics_and_a_plain_promotion_leaves_approver_empty() -> None:
    approvals, ledger = _with_ledger(LOCAL)
    promotion = approvals.promotion
    note = LedgerNote(actor="retrainer", reason="won", approver="ada", experiment_id="exp-7")
    promotion.promote(promotion.candidate(NAME, "2"), actor="ada", reason="won", note=note)
    promotion.promote(promotion.candidate(NAME, "1"), actor="bob", reason="force back", force=True)

    first, second = ledger.rows
    assert (first.actor, first.approver, first.experiment_id) == ("retrainer", "ada", "exp-7")
    assert first.gate_metrics["candidate.rmse"] == 2.0
    assert (second.actor, second.approver, second.experiment_id, second.reason) == ("bob", "", "", "force back")

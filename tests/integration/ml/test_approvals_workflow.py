"""The approval workflow on a real MLflow registry (SQLite file and PostgreSQL), with the request store in the
registry's database and the real audit trail: request -> approve | reject -> promote, and every refusal
(own request in production, a version that failed the gate, an unknown id) leaves everything as it was."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy
from ml_fakes import FixedClock, MemoryDatasetStore
from registry_world import NAME, RegistryWorld

from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.approval import ApprovalPolicy, ApprovalRefusedError, ApprovalRequest, ApprovalState
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.month import Month
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.promotion import CHAMPION
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.governance.store import SqlApprovalStore
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger

PRODUCTION = ApprovalPolicy(environment="production")
OPERATOR, APPROVER, ADMIN = (
    Identity("olga", Role.OPERATOR),
    Identity("ada", Role.APPROVER),
    Identity("root", Role.ADMIN),
)


@pytest.fixture()
def store(processed_month: Callable[[str], pd.DataFrame]) -> MemoryDatasetStore:
    return MemoryDatasetStore(
        {
            Month(2021, 1): processed_month("2021-01").head(5000),
            Month(2021, 2): processed_month("2021-02").head(2000),
            Month(2021, 3): processed_month("2021-03").head(1000),
        }
    )


def test_request_approve_reject_promote_on_the_real_registry(
    tracking_uri: str, tmp_path: Path, store: MemoryDatasetStore, feature_builder: TripFeatureBuilder, clock: FixedClock
) -> None:
    world = RegistryWorld(tracking_uri, tmp_path, store, feature_builder, clock, "approvals")
    registry, audit, promotion = world.registry, world.audit, world.promotion
    requests = SqlApprovalStore(tracking_uri)
    approvals = Approvals(
        store=requests,
        promotion=promotion,
        gate=GateThroughPromotion(promotion),
        policy=PRODUCTION,
        clock=clock,
        audit=audit,
    )

    def train(rounds: int) -> str:
        return world.train(rounds, advance=True).version.version

    first, weak, strong = train(40), train(3), train(150)
    # the ledger shares the registry's database, whose MLflow tables exist once a version is registered
    promotion.ledger = ledger = SqlPromotionLedger(tracking_uri, clock)
    promotion.promote(promotion.candidate(NAME, first), actor="pytest", reason="first champion")

    def unchanged_since(n_events: int, request: ApprovalRequest) -> None:
        assert registry.alias_version(NAME, CHAMPION) == first
        assert len(audit.events(limit=1000)) == n_events
        assert approvals.get(request.request_id).state is ApprovalState.PENDING

    # a version that fails the gate: requested (audited, gate snapshot kept), approval refused, nothing changed
    bad = approvals.request(NAME, weak, requester=OPERATOR, reason="cheaper model")
    assert bad.gate is not None and not bad.gate.passed and bad.gate.champion_version == first
    n_events = len(audit.events(limit=1000))
    with pytest.raises(ApprovalRefusedError, match=f"v{weak} failed the promotion gate"):
        approvals.approve(bad.request_id, approver=APPROVER)
    unchanged_since(n_events, bad)
    rejected = approvals.reject(bad.request_id, approver=APPROVER, reason="worse than the champion")
    assert rejected.state is ApprovalState.REJECTED and requests.get(bad.request_id) == rejected

    # approving your own request in production is refused; another approver's approval promotes
    good = approvals.request(NAME, strong, requester=ADMIN, reason="150 rounds beat 40")
    assert good.gate is not None and good.gate.passed
    assert good.gate.candidate_metrics["rmse"] < good.gate.champion_metrics["rmse"]
    n_events = len(audit.events(limit=1000))
    with pytest.raises(ApprovalRefusedError, match="approver other than the requester"):
        approvals.approve(good.request_id, approver=ADMIN)
    unchanged_since(n_events, good)
    with pytest.raises(NotFoundError, match="approval request 'deadbeef' not found"):
        approvals.approve("deadbeef", approver=APPROVER)
    done = approvals.approve(good.request_id, approver=APPROVER, note="ship it")
    assert done.state is ApprovalState.PROMOTED and done.decided_by == "ada"
    assert registry.alias_version(NAME, CHAMPION) == strong
    assert registry.get(NAME, CHAMPION).tags["promotion.actor"] == "ada"
    # the ledger row names the requester (actor) and the approver; the plain promotion before has no approver
    plain, approved = ledger.history(NAME, alias=CHAMPION)
    assert (plain.actor, plain.approver, plain.to_version) == ("pytest", "", first)
    assert (approved.actor, approved.approver, approved.from_version, approved.to_version) == (
        "root",
        "ada",
        first,
        strong,
    )
    assert (
        good.request_id in approved.reason
        and approved.gate_metrics["candidate.rmse"] < approved.gate_metrics["champion.rmse"]
    )

    # the trail tells the story, in order, and verifies
    story = [
        (e.action, e.actor, e.subject.rsplit("/", 1)[1])
        for e in reversed(audit.events(limit=1000))
        if e.action.startswith("approval.") or e.action == "model.promoted"
    ]
    assert story == [
        ("model.promoted", "pytest", first),
        ("approval.requested", "olga", weak),
        ("approval.rejected", "ada", weak),
        ("approval.requested", "root", strong),
        ("approval.approved", "ada", strong),
        ("model.promoted", "ada", strong),
    ]
    assert audit.verify().events == len(audit.events(limit=1000))
    listed = approvals.list_requests(model=NAME)
    assert {r.request_id: r.state for r in listed} == {
        bad.request_id: ApprovalState.REJECTED,
        good.request_id: ApprovalState.PROMOTED,
    }
    if tracking_uri.startswith("postgresql"):  # the requests really live in the registry's PostgreSQL
        engine = sqlalchemy.create_engine(tracking_uri)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sqlalchemy.text("SELECT state FROM tripcast_approval_requests")).scalars()
                assert sorted(rows) == ["promoted", "rejected"]
        finally:
            engine.dispose()
    requests.close()
    ledger.engine.dispose()


def test_two_approvers_deciding_one_request_at_once_exactly_one_wins(tracking_uri: str) -> None:
    requests = SqlApprovalStore(tracking_uri)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    request = ApprovalRequest("r1", NAME, "2", "olga", "why", at, "production")
    requests.add(request)

    def decide(who: str) -> ApprovalRequest | None:
        new = ApprovalState.APPROVED if who.startswith("a") else ApprovalState.REJECTED
        return requests.transition(
            "r1", expected=ApprovalState.PENDING, new=new, decided_by=who, decided_at=at, note=""
        )

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(decide, ["ada", "bob", "amy", "ben", "al", "bo", "ann", "bea"]))
    winners = [o for o in outcomes if o is not None]
    assert len(winners) == 1
    stored = requests.get("r1")
    assert stored is not None and stored == winners[0] and stored.decided_at == at
    assert requests.get("nope") is None
    requests.close()

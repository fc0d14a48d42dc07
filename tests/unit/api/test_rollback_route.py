"""``POST /v1/models/rollback``: the core ``Rollback`` use case (over in-memory fakes) behind a route that needs
the permission to approve; refusals are 4xx problem bodies and change nothing."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.api_keys import KeyTable
from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import FakeAudit, FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeStore
from tripcast.api.routes.rollback import add_rollback_route
from tripcast.api.security import AccessPolicy
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.ledger import LedgerEntry
from tripcast.core.domain.month import Month
from tripcast.core.ports.locks import LockHeldError
from tripcast.core.services.promotion import ROLLED_BACK, Promotion
from tripcast.core.services.rollback import Rollback

NAME = "trip-duration"
VALID = Month(2021, 2)
KEYS = {
    "viewer": Identity("vic", Role.VIEWER),
    "operator": Identity("olga", Role.OPERATOR),
    "approver": Identity("ada", Role.APPROVER),
    "admin": Identity("root", Role.ADMIN),
}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class World:
    """A registry with versions 1..3, a ledger, an audit log, and the route over the real use case."""

    def __init__(self, champions: tuple[str, ...]) -> None:
        self.registry = TaggingRegistry(
            {"1": 5.0, "2": 4.0, "3": 3.0}, tags={v: {"valid_month": str(VALID)} for v in "123"}
        )
        self.ledger, self.audit = FakeLedger(self.registry), FakeAudit()
        promotion = Promotion(
            registry=self.registry, store=FakeStore({VALID: [1.0, 2.0]}), features=FakeFeatures(),
            metrics=FakeMetrics(self.registry), clock=FakeClock(), audit=self.audit, locks=FakeLocks(),
            ledger=self.ledger,
        )  # fmt: skip
        for version in champions:
            promotion.promote(self.registry.get(NAME, version), actor="alice", reason=f"ship v{version}")
        use_case = Rollback(promotion=promotion, ledger=self.ledger, registry=self.registry, clock=FakeClock())

        def rollback(model: str, actor: str, reason: str, to: str | None) -> LedgerEntry:
            return use_case.rollback(model, actor=actor, reason=reason, to_version=to)

        app = FastAPI()
        add_rollback_route(app.router, rollback, NAME, AccessPolicy(KeyTable(KEYS)))
        self.api = TestClient(app)


def test_an_approver_rolls_the_champion_back_with_a_ledger_row_audited_under_the_keys_name() -> None:
    world = World(("1", "2", "3"))
    answer = world.api.post("/v1/models/rollback", json={"reason": "live error up"}, headers=auth("approver"))
    assert answer.status_code == 200
    row = answer.json()
    assert (row["from_version"], row["to_version"], row["actor"], row["reason"]) == (
        "3",
        "2",
        "ada",
        "rollback: live error up",
    )
    assert world.registry.aliases["champion"] == "2" and len(world.ledger.rows) == 4
    assert world.audit.rows[-1].action == ROLLED_BACK and world.audit.rows[-1].actor == "ada"
    to_first = world.api.post("/v1/models/rollback", json={"reason": "known good", "to": "v1"}, headers=auth("admin"))
    assert to_first.status_code == 200 and world.registry.aliases["champion"] == "1"


def test_roles_that_may_not_approve_are_refused_and_nothing_moves() -> None:
    world = World(("1", "2"))
    assert world.api.post("/v1/models/rollback", json={"reason": "x"}).status_code == 401
    for key in ("viewer", "operator"):
        refused = world.api.post("/v1/models/rollback", json={"reason": "x"}, headers=auth(key))
        assert refused.status_code == 403, key
    assert world.registry.aliases["champion"] == "2" and len(world.ledger.rows) == 2


def test_nothing_to_roll_back_to_is_409_and_bad_input_names_the_field() -> None:
    empty = World(())
    refused = empty.api.post("/v1/models/rollback", json={"reason": "x"}, headers=auth("approver"))
    assert refused.status_code == 409 and "nothing to roll back to" in refused.json()["detail"]
    first_only = World(("1",))
    refused = first_only.api.post("/v1/models/rollback", json={"reason": "x"}, headers=auth("approver"))
    assert refused.status_code == 409 and "no earlier one" in refused.json()["detail"]

    world = World(("1", "2"))
    never = world.api.post("/v1/models/rollback", json={"reason": "x", "to": "3"}, headers=auth("approver"))
    assert never.status_code == 404 and "never champion" in never.json()["detail"]
    already = world.api.post("/v1/models/rollback", json={"reason": "x", "to": "2"}, headers=auth("approver"))
    assert already.status_code == 422 and already.json()["errors"][0]["field"] == "to"
    blank = world.api.post("/v1/models/rollback", json={"reason": "   "}, headers=auth("approver"))
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    missing = world.api.post("/v1/models/rollback", json={}, headers=auth("approver"))
    assert missing.status_code == 422 and "reason" in missing.text
    assert world.registry.aliases["champion"] == "2" and len(world.ledger.rows) == 2


def test_a_held_promotion_lock_is_409_with_retry_after() -> None:
    def locked(model: str, actor: str, reason: str, to: str | None) -> LedgerEntry:
        raise LockHeldError("promotion of trip-duration is running (pid 42)")

    app = FastAPI()
    add_rollback_route(app.router, locked, NAME, AccessPolicy(KeyTable(KEYS)))
    refused = TestClient(app).post("/v1/models/rollback", json={"reason": "x"}, headers=auth("approver"))
    assert refused.status_code == 409 and refused.headers["Retry-After"] == "5"

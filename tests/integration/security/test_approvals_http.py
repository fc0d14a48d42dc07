"""The approval routes over real HTTP with real API keys: roles decide who may request and who may decide,
the policy refuses with a 4xx problem body (never a 5xx), and a refusal changes nothing.

The request store and the audit trail are the real SQL adapters (SQLite file, or PostgreSQL); the registry
and the gate's data are the in-memory fakes of the service tests (the real registry is exercised by
tests/integration/ml/test_approvals_workflow.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fakes_ml import FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeRegistry, FakeStore
from support.serving_fakes import FakeRegistry as ServingRegistry
from support.serving_settings import functional_settings
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.approval import ApprovalPolicy
from tripcast.core.domain.month import Month
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.promotion import CHAMPION, Promotion
from tripcast.mlops.governance.store import SqlApprovalStore
from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore
from tripcast.security.audit_log import SqlAuditLog
from tripcast.security.roles import Role

ENV_TOKEN = "environment-admin-token-0123456789"
URL = "/v1/models/approvals"


@dataclass
class Served:
    base: str
    keys: SqlApiKeyStore
    registry: FakeRegistry
    audit: SqlAuditLog

    def key(self, role: Role, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.create(name, role, actor='tests')}"}

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(self.base + path, json=body, headers=headers or {}, timeout=10)

    def n_events(self) -> int:
        return len(self.audit.events(limit=1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture()
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    settings = functional_settings(
        data_dir=tmp_path, env="production", api_token=ENV_TOKEN, api_key_secret="integration-secret-0123456789"
    )
    # v1 is champion (rmse 3); v2 beats it (2); v3 fails the gate (5).
    registry = FakeRegistry({"1": 3.0, "2": 2.0, "3": 5.0}, tags={v: {"valid_month": "2021-02"} for v in "123"})
    registry.aliases[CHAMPION] = "1"
    audit = SqlAuditLog(f"sqlite:///{tmp_path / 'audit.db'}", key=b"approvals-http-audit-key")
    promotion = Promotion(
        registry=registry,
        store=FakeStore({Month(2021, 2): [1.0, 2.0]}),
        features=FakeFeatures(),
        metrics=FakeMetrics(registry),
        clock=FakeClock(),
        audit=audit,
        locks=FakeLocks(),
    )
    approvals = Approvals(
        store=SqlApprovalStore(database_url),
        promotion=promotion,
        gate=GateThroughPromotion(promotion),
        policy=ApprovalPolicy(environment="production"),
        clock=FakeClock(),
        audit=audit,
    )
    serving = ServingRegistry()
    serving.add("1", alias=CHAMPION)
    parts = replace(serving_parts(settings, serving, cache=None, poll=False), approvals=lambda: approvals)
    keys = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    with serve_in_thread(create_app(parts)) as port:
        yield Served(f"http://127.0.0.1:{port}", keys, registry, audit)
    keys.close()


def test_roles_decide_who_requests_and_who_approves(served: Served) -> None:
    operator, approver = served.key(Role.OPERATOR, "olga"), served.key(Role.APPROVER, "ada")
    body = {"version": "2", "reason": "better on february"}
    assert served.post(URL, body).status_code == 401
    viewer = served.post(URL, body, served.key(Role.VIEWER, "vic"))
    assert viewer.status_code == 403 and "operate needs role operator" in viewer.json()["detail"]
    assert served.post(URL, body, approver).status_code == 403  # approvers do not operate: separation of duties

    created = served.post(URL, body, operator)
    assert created.status_code == 201, created.text
    request = created.json()
    assert (request["state"], request["requested_by"], request["version"]) == ("pending", "olga", "2")
    assert request["gate"]["passed"] and request["gate"]["champion_version"] == "1"

    path = f"{URL}/{request['request_id']}/approve"
    refused = served.post(path, {}, operator)
    assert refused.status_code == 403 and "approve needs role approver" in refused.json()["detail"]
    approved = served.post(path, {"note": "ship it"}, approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "promoted" and approved.json()["decided_by"] == "ada"
    assert served.registry.aliases[CHAMPION] == "2"
    actions = [e.action for e in reversed(served.audit.events(limit=100))]
    assert actions == ["approval.requested", "approval.approved", "model.alias_move_started", "model.promoted"]

    listed = httpx.get(served.base + URL, params={"state": "promoted"}, headers=operator, timeout=10)
    assert listed.status_code == 200 and [r["request_id"] for r in listed.json()["requests"]] == [request["request_id"]]


def test_policy_refusals_are_409_problem_bodies_and_change_nothing(served: Served) -> None:
    admin, approver = {"Authorization": f"Bearer {ENV_TOKEN}"}, served.key(Role.APPROVER, "ada")
    own = served.post(URL, {"version": "2", "reason": "mine"}, admin).json()
    worse = served.post(URL, {"version": "3", "reason": "cheaper"}, admin).json()
    assert not worse["gate"]["passed"]
    n_events = served.n_events()

    cases = [
        (f"{URL}/{own['request_id']}/approve", {}, admin, 409, "approver other than the requester"),
        (f"{URL}/{worse['request_id']}/approve", {}, approver, 409, "v3 failed the promotion gate"),
        (f"{URL}/nope/approve", {}, approver, 404, "approval request 'nope' not found"),
        (f"{URL}/nope/reject", {"reason": "x"}, approver, 404, "approval request 'nope' not found"),
        (f"{URL}/{own['request_id']}/reject", {"reason": ""}, approver, 422, "reason"),
        (f"{URL}/{own['request_id']}/approve", {"note": "x", "force": True}, approver, 422, "force"),
        (URL, {"version": "9", "reason": "x"}, admin, 404, "9"),
        (URL, {"reason": "no version"}, admin, 422, "version"),
    ]
    for path, body, headers, status, message in cases:
        answer = served.post(path, body, headers)
        assert answer.status_code == status, (path, body, answer.text)
        problem = answer.json()
        assert message in problem["detail"] or message in str(problem["errors"]), (path, problem)
    assert served.registry.aliases[CHAMPION] == "1" and served.n_events() == n_events
    states = {r["request_id"]: r["state"] for r in httpx.get(served.base + URL, headers=admin).json()["requests"]}
    assert states == {own["request_id"]: "pending", worse["request_id"]: "pending"}

    rejected = served.post(f"{URL}/{worse['request_id']}/reject", {"reason": "worse than v1"}, approver)
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    again = served.post(f"{URL}/{worse['request_id']}/approve", {}, approver)
    assert again.status_code == 409 and "is rejected (by ada), not pending" in again.json()["detail"]


def test_the_production_app_wires_the_approval_routes_with_their_permissions(tmp_path: Path) -> None:
    from fastapi.routing import APIRoute

    from tripcast.api.security import Requires
    from tripcast.bootstrap.serving import serving_parts_from_env
    from tripcast.core.domain.access import Permission

    app = create_app(serving_parts_from_env(functional_settings(data_dir=tmp_path)))
    guards = {
        (method, route.path): next(
            d.call.permission for d in route.dependant.dependencies if isinstance(d.call, Requires)
        )
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith(URL)
        for method in route.methods or ()
    }
    assert guards == {
        ("GET", URL): Permission.READ_MODEL,
        ("POST", URL): Permission.OPERATE,
        ("POST", URL + "/{request_id}/approve"): Permission.APPROVE,
        ("POST", URL + "/{request_id}/reject"): Permission.APPROVE,
    }

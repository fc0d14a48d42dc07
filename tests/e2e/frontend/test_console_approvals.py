"""Approval and rollback buttons by role in Chromium, over real HTTP with real API keys (viewer, operator,
approver).

The request store and audit trail are the real SQL adapters; the registry, the ledger and the gate's data are
the service tests' in-memory fakes (as in tests/integration/security/test_approvals_http.py, whose wiring this
reuses): what is under test is that the console shows each role its buttons and that clicking them drives
the workflow (request -> pending -> approve -> promoted -> rolled back), and that the API refuses a viewer's
rollback with a 403 the page shows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeStore
from support.frontend import build_console, chromium, node_project
from support.serving_fakes import FakeRegistry as ServingRegistry
from support.serving_settings import functional_settings
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.approval import ApprovalPolicy
from tripcast.core.domain.month import Month
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.promotion import CHAMPION, ROLLED_BACK, Promotion
from tripcast.core.services.rollback import Rollback
from tripcast.mlops.governance.store import SqlApprovalStore
from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore
from tripcast.security.audit_log import SqlAuditLog
from tripcast.security.roles import Role


def test_each_role_sees_its_buttons_an_approval_promotes_and_a_rollback_undoes_it(tmp_path: Path) -> None:
    browser = chromium()
    build_console(tmp_path)
    settings = functional_settings(
        home=tmp_path,
        data_dir=tmp_path,
        env="production",
        api_token="console-e2e-admin-token-0123456789",
        api_key_secret="console-e2e-secret-0123456789",
    )
    registry = TaggingRegistry({"1": 3.0, "2": 2.0}, tags={v: {"valid_month": "2021-02"} for v in "12"})
    registry.aliases[CHAMPION] = "1"
    ledger = FakeLedger(registry)
    audit = SqlAuditLog(f"sqlite:///{tmp_path / 'audit.db'}", key=b"console-e2e-audit-key")
    promotion = Promotion(
        registry=registry, store=FakeStore({Month(2021, 2): [1.0, 2.0]}), features=FakeFeatures(),
        metrics=FakeMetrics(registry), clock=FakeClock(), audit=audit, locks=FakeLocks(), ledger=ledger,
    )  # fmt: skip
    rollback = Rollback(promotion=promotion, ledger=ledger, registry=registry, clock=FakeClock())
    approvals = Approvals(
        store=SqlApprovalStore(f"sqlite:///{tmp_path / 'approvals.db'}"), promotion=promotion,
        gate=GateThroughPromotion(promotion), policy=ApprovalPolicy(environment="production"),
        clock=FakeClock(), audit=audit,
    )  # fmt: skip
    serving = ServingRegistry()
    serving.add("1", alias=CHAMPION)
    parts = replace(
        serving_parts(settings, serving, cache=None, poll=False),
        approvals=lambda: approvals,
        model_versions=registry.list_versions,
        ledger_history=lambda model, limit: ledger.history(model, limit=limit),
        rollback=lambda model, actor, reason, to: rollback.rollback(model, actor=actor, reason=reason, to_version=to),
    )
    keys = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    roles = (("vic", Role.VIEWER), ("olga", Role.OPERATOR), ("ada", Role.APPROVER))
    tokens = [keys.create(name, role, actor="tests") for name, role in roles]
    out = tmp_path / "console"
    try:
        with serve_in_thread(create_app(parts)) as port:
            command = ["node", "web/e2e/approvals.e2e.mjs", f"http://127.0.0.1:{port}", str(out), *tokens]
            run = subprocess.run(
                command, cwd=node_project(), env={**os.environ, "CHROMIUM": browser},
                capture_output=True, text=True, timeout=180,
            )  # fmt: skip
    finally:
        keys.close()
    assert run.returncode == 0, f"browser script failed:\n{run.stdout}\n{run.stderr}"
    seen = json.loads((out / "approvals.json").read_text())
    assert "Request" not in seen["viewer_buttons"] and "Approve" not in seen["viewer_buttons"]
    assert "Approve" not in seen["operator_buttons"]  # operators request, approvers decide
    assert "Request" not in seen["approver_buttons"] and "Approve" not in seen["approver_buttons"]  # decided
    assert re.search(r"v2\s+champion", seen["serving_aliases"]), seen["serving_aliases"]  # the page shows it
    actions = [e.action for e in reversed(audit.events(limit=100))]
    assert actions[:2] == ["approval.requested", "approval.approved"] and "model.promoted" in actions
    # The approver rolled v2 back: the page says so, the ledger timeline shows the move, the audit trail holds it.
    assert registry.aliases[CHAMPION] == "1"
    assert "v2 → v1" in seen["rollback_status"], seen["rollback_status"]
    assert "champion: v2 → v1" in seen["ledger"] and "rollback: live error up" in seen["ledger"], seen["ledger"]
    assert re.search(r"v1\s+champion", seen["aliases_after_rollback"]), seen["aliases_after_rollback"]
    rollbacks = [e for e in audit.events(limit=100) if e.action == ROLLED_BACK]
    assert [(e.actor, e.subject) for e in rollbacks] == [("ada", "model:trip-duration/1")]
    # A viewer has no rollback button; forced onto the page, the click is the API's 403 in the banner.
    assert "Roll back champion" not in seen["viewer_buttons"] + seen["viewer_buttons_after"]
    assert "Your key's role may not do this" in seen["forbidden_banner"], seen["forbidden_banner"]
    assert [e.action for e in audit.events(limit=100)].count(ROLLED_BACK) == 1 and registry.aliases[CHAMPION] == "1"

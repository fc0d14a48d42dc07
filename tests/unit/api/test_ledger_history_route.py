"""``GET /v1/models/history``: ledger rows for a role that may read the model; 401 without a key."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.api_keys import KeyTable
from tripcast.api.routes.history import add_history_routes
from tripcast.api.security import AccessPolicy
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.ledger import LedgerEntry

ENTRY = LedgerEntry(
    1, datetime(2026, 1, 1, tzinfo=UTC), "alice", "trip-duration", "champion", "", "3", "first",
    {"candidate.rmse": 4.2}, "bob", "",
)  # fmt: skip
KEYS = {"viewer-key": Identity("carol", Role.VIEWER)}


def client(asked: list[tuple[str, int]]) -> TestClient:
    def history(model: str, limit: int) -> list[LedgerEntry]:
        asked.append((model, limit))
        return [ENTRY]

    app = FastAPI()
    add_history_routes(app.router, history, "trip-duration", AccessPolicy(KeyTable(KEYS)))
    return TestClient(app)


def test_a_viewer_reads_the_ledger_of_the_served_model_by_default() -> None:
    asked: list[tuple[str, int]] = []
    response = client(asked).get("/v1/models/history?limit=5", headers={"Authorization": "Bearer viewer-key"})
    assert response.status_code == 200
    assert response.json() == {"model": "trip-duration", "entries": [ENTRY.as_dict()]}
    assert asked == [("trip-duration", 5)]


def test_no_key_is_401_and_a_bad_limit_is_422_naming_it() -> None:
    asked: list[tuple[str, int]] = []
    assert client(asked).get("/v1/models/history").status_code == 401
    bad = client(asked).get("/v1/models/history?limit=0", headers={"Authorization": "Bearer viewer-key"})
    assert bad.status_code == 422 and "limit" in bad.text
    assert asked == []

"""``GET /v1/models/history``: the promotion ledger, which version held which alias since when, and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.security import AccessPolicy, Requires
from tripcast.core.domain.access import Permission
from tripcast.core.domain.ledger import LedgerEntry


def add_history_routes(
    router: APIRouter, history: Callable[[str, int], list[LedgerEntry]], model_name: str, policy: AccessPolicy
) -> None:
    """The read-only ledger route (any role that may read the model: viewer and up)."""

    @router.get(
        "/v1/models/history",
        tags=["models"],
        responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]},
        dependencies=[Depends(Requires(policy, Permission.READ_MODEL))],
    )
    async def models_history(
        model: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> dict[str, Any]:
        """Ledger rows of ``model`` (default: the served model), oldest first, at most ``limit`` newest."""
        name = model or model_name
        entries = await run_in_threadpool(history, name, limit)
        return {"model": name, "entries": [entry.as_dict() for entry in entries]}

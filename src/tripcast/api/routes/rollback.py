"""``POST /v1/models/rollback``: move the champion back, as ``tripcast rollback`` does, by a key that may approve.

The same core use case as the command (``Rollback.rollback``, handed in by the root): under the model's
promotion lock, audited as ``model.rolled_back`` under the key's name, with its ledger row. Rolling back
puts a version in front of users without a new approval, so it needs the permission that approves a
promotion (roles approver and admin). Refusals change nothing: 409 nothing to roll back to (or a
promotion holds the lock), 404 a version never champion, 422 a blank reason or the champion already.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import problems_body
from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.schemas import ErrorOut
from tripcast.api.security import AccessPolicy, Requires, identity_of
from tripcast.bootstrap.serving import RollbackChampion
from tripcast.core.domain.access import Permission
from tripcast.core.domain.errors import InvalidInputError, NotFoundError, TripcastError
from tripcast.core.ports.locks import LockHeldError

REFUSALS: dict[int | str, dict[str, Any]] = {
    **{code: ERROR_RESPONSES[code] for code in (401, 403, 422)},
    404: {"model": ErrorOut, "description": "The version asked for was never champion (per the ledger)"},
    409: {"model": ErrorOut, "description": "Nothing to roll back to, or a promotion holds the lock; nothing changed"},
}


class RollbackIn(BaseModel):
    """Why the champion goes back, and optionally to which earlier champion."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="recorded in the ledger and the audit trail")
    to: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="a version the ledger shows was champion (default: previous)",
    )


def _answer(rollback: RollbackChampion, model: str, actor: str, body: RollbackIn) -> JSONResponse:
    """Run the use case (in a worker thread) and map its refusals to 4xx problem bodies."""
    try:
        entry = rollback(model, actor, body.reason, body.to)
    except NotFoundError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=404)
    except InvalidInputError as exc:
        return JSONResponse(problems_body(str(exc), exc.problems), status_code=422)
    except LockHeldError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=409, headers={"Retry-After": "5"})
    except TripcastError as exc:  # an empty ledger, a lost compare-and-set, no ledger on this registry
        return JSONResponse(problems_body(str(exc), []), status_code=409)
    return JSONResponse(entry.as_dict())


def add_rollback_route(router: APIRouter, rollback: RollbackChampion, model_name: str, policy: AccessPolicy) -> None:
    """``POST /v1/models/rollback`` for ``model_name`` (roles that may approve a promotion)."""

    @router.post(
        "/v1/models/rollback",
        tags=["models"],
        responses=REFUSALS,
        dependencies=[Depends(Requires(policy, Permission.APPROVE))],
    )
    async def rollback_champion(request: Request, body: RollbackIn) -> JSONResponse:
        """Move the champion back to the previous ledger entry's version (or ``to``); returns the ledger row."""
        identity = identity_of(request)
        assert identity is not None  # the Requires dependency admits no anonymous caller here
        return await run_in_threadpool(_answer, rollback, model_name, identity.name, body)


__all__ = ["add_rollback_route"]

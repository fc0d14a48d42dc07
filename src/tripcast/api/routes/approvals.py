"""``/v1/models/approvals``: request, approve and reject promotions, by API keys with roles.

Requesting needs ``operate``, deciding needs ``approve`` (roles approver and admin); the environment's policy
decides the rest (``DOCS/lifecycle-approvals.md``). A refusal is a 4xx with the problem JSON body and
changes nothing: 404 unknown request, 409 refused by the policy or the request's state, 422 bad body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import problems_body
from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.schemas import ErrorOut
from tripcast.api.security import AccessPolicy, Requires, identity_of
from tripcast.core.domain.access import Identity, Permission
from tripcast.core.domain.approval import ApprovalRefusedError, ApprovalRequest, ApprovalState, approval_payload
from tripcast.core.domain.errors import InvalidInputError, NotFoundError, PromotionRefusedError, TripcastError
from tripcast.core.ports.locks import LockHeldError
from tripcast.core.services.approval import Approvals

REFUSALS: dict[int | str, dict[str, Any]] = {
    **{code: ERROR_RESPONSES[code] for code in (401, 403, 422)},
    404: {"model": ErrorOut, "description": "No approval request with that id (or no such version)"},
    409: {"model": ErrorOut, "description": "Refused by the policy or the request's state; nothing changed"},
}


class RequestIn(BaseModel):
    """Ask for a version to become champion."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=32, description="version number or alias")
    reason: str = Field(min_length=1, max_length=2000)


class ApproveIn(BaseModel):
    """Approve a pending request."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


class RejectIn(BaseModel):
    """Reject a pending request."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class LazyApprovals:
    """The workflow, built on first use (the registry may be down when the server starts)."""

    def __init__(self, build: Callable[[], Approvals]) -> None:
        self._build = build
        self._built: Approvals | None = None
        self._lock = threading.Lock()

    def get(self) -> Approvals:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built


def _answer(call: Callable[[], ApprovalRequest], status_code: int = 200) -> JSONResponse:
    """Run a use case (in a worker thread's caller) and map its refusals to 4xx problem bodies."""
    try:
        return JSONResponse(approval_payload(call()), status_code=status_code)
    except NotFoundError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=404)
    except InvalidInputError as exc:
        return JSONResponse(problems_body(str(exc), exc.problems), status_code=422)
    except (ApprovalRefusedError, PromotionRefusedError) as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=409)
    except LockHeldError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=409, headers={"Retry-After": "5"})
    except TripcastError as exc:  # any other user-caused refusal (e.g. the validation month not processed here)
        return JSONResponse(problems_body(str(exc), []), status_code=409)


def _caller(request: Request) -> Identity:
    identity = identity_of(request)
    assert identity is not None  # the Requires dependency admits no anonymous caller to these routes
    return identity


def add_approval_routes(
    router: APIRouter, build: Callable[[], Approvals], model_name: str, policy: AccessPolicy
) -> None:
    """The approval workflow's routes for ``model_name``."""
    approvals = LazyApprovals(build)
    operate = [Depends(Requires(policy, Permission.OPERATE))]
    approve = [Depends(Requires(policy, Permission.APPROVE))]

    @router.get(
        "/v1/models/approvals",
        tags=["approvals"],
        responses=REFUSALS,
        dependencies=[Depends(Requires(policy, Permission.READ_MODEL))],
    )
    async def list_approvals(
        state: Annotated[ApprovalState | None, Query(description="only requests in this state")] = None,
    ) -> dict[str, Any]:
        """Approval requests of the model, newest first."""
        found = await run_in_threadpool(lambda: approvals.get().list_requests(model=model_name, state=state))
        return {"requests": [approval_payload(r) for r in found]}

    @router.post("/v1/models/approvals", tags=["approvals"], status_code=201, responses=REFUSALS, dependencies=operate)
    async def request_approval(request: Request, body: RequestIn) -> JSONResponse:
        """Ask for a version to become champion (the policy may approve and promote it at once)."""
        requester = _caller(request)
        use_case = lambda: approvals.get().request(model_name, body.version, requester=requester, reason=body.reason)  # noqa: E731
        return await run_in_threadpool(_answer, use_case, 201)

    @router.post(
        "/v1/models/approvals/{request_id}/approve", tags=["approvals"], responses=REFUSALS, dependencies=approve
    )
    async def approve_request(request: Request, request_id: str, body: ApproveIn | None = None) -> JSONResponse:
        """Approve a pending request under the environment's policy, then promote its version."""
        approver, note = _caller(request), body.note if body is not None else ""
        return await run_in_threadpool(
            _answer, lambda: approvals.get().approve(request_id, approver=approver, note=note)
        )

    @router.post(
        "/v1/models/approvals/{request_id}/reject", tags=["approvals"], responses=REFUSALS, dependencies=approve
    )
    async def reject_request(request: Request, request_id: str, body: RejectIn) -> JSONResponse:
        """Reject a pending request; nothing is promoted."""
        approver = _caller(request)
        return await run_in_threadpool(
            _answer, lambda: approvals.get().reject(request_id, approver=approver, reason=body.reason)
        )


__all__ = ["add_approval_routes"]

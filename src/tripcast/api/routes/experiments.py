"""``/v1/experiments``: define, start, stop and read experiments, and their analysis, by API keys with roles.

Reading needs ``read_model`` (viewer and up); creating, starting and stopping need ``operate``; deciding
needs ``approve`` (approver, admin), as ``tripcast experiments decide`` does. A refusal is a
4xx problem body and changes nothing: 404 unknown experiment, 409 refused by its state (or another running
experiment on the same model), 422 bad definition (each field named; arms naming missing versions too).

Plain FastAPI over a facade of plain data (``tripcast.bootstrap.experiments.ExperimentsHttp``), registered
only when the composition root hands the API one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import problems_body
from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.schemas import ErrorOut
from tripcast.api.security import AccessPolicy, Requires, identity_of
from tripcast.core.domain.access import Identity, Permission, Role
from tripcast.core.domain.errors import InvalidInputError, NotFoundError, TripcastError

REFUSALS: dict[int | str, dict[str, Any]] = {
    **{code: ERROR_RESPONSES[code] for code in (401, 403, 422)},
    404: {"model": ErrorOut, "description": "No experiment with that id"},
    409: {"model": ErrorOut, "description": "Refused by the experiment's state or a running experiment"},
}


class ExperimentsFacade(Protocol):
    """What the routes call (JSON-able data in and out)."""

    def create(self, body: dict[str, Any], actor: Identity) -> dict[str, object]: ...
    def start(self, experiment_id: str, actor: Identity) -> dict[str, object]: ...
    def stop(self, experiment_id: str, actor: Identity) -> dict[str, object]: ...
    def decide(self, experiment_id: str, verdict: str, actor: Identity) -> dict[str, object]: ...
    def get(self, experiment_id: str) -> dict[str, object]: ...
    def list(self, state: str | None) -> list[dict[str, object]]: ...
    def analysis(self, experiment_id: str) -> dict[str, object]: ...


class _Lazy:
    """The facade, built on its first request (the registry may be down when the server starts)."""

    def __init__(self, build: Callable[[], ExperimentsFacade]) -> None:
        self._build = build
        self._built: ExperimentsFacade | None = None
        self._lock = threading.Lock()

    def get(self) -> ExperimentsFacade:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built


async def _answer(call: Callable[[], object], status_code: int = 200) -> JSONResponse:
    """Run a use case in a worker thread; its refusals become 4xx problem bodies."""
    try:
        return JSONResponse(await run_in_threadpool(call), status_code=status_code)
    except NotFoundError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=404)
    except InvalidInputError as exc:
        return JSONResponse(problems_body(str(exc), exc.problems), status_code=422)
    except TripcastError as exc:
        return JSONResponse(problems_body(str(exc), []), status_code=409)


def _actor(request: Request, role: Role = Role.OPERATOR) -> Identity:
    # Without API keys (development), the anonymous caller's permissions let it through: act in the role the
    # route needs (the use case checks roles again).
    return identity_of(request) or Identity("anonymous", role)


class DecideIn(BaseModel):
    """The decision recorded on a stopped experiment."""

    model_config = ConfigDict(extra="forbid")

    verdict: str = Field(max_length=32, description="ship, keep champion, continue or invalid")


def add_experiment_routes(router: APIRouter, build: Callable[[], Any], policy: AccessPolicy) -> None:
    """The experiment routes over the facade ``build`` returns."""
    facade = _Lazy(build)
    read = [Depends(Requires(policy, Permission.READ_MODEL))]
    operate = [Depends(Requires(policy, Permission.OPERATE))]
    approve = [Depends(Requires(policy, Permission.APPROVE))]  # the use case's DECIDE_PERMISSION
    tags: list[str | Enum] = ["experiments"]

    @router.post("/v1/experiments", tags=tags, responses=REFUSALS, dependencies=operate, status_code=201)
    async def create_experiment(request: Request, body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        """Define an experiment (a draft): the same fields as a YAML definition."""
        return await _answer(lambda: facade.get().create(body, _actor(request)), 201)

    @router.post("/v1/experiments/{experiment_id}/start", tags=tags, responses=REFUSALS, dependencies=operate)
    async def start_experiment(request: Request, experiment_id: str) -> JSONResponse:
        """Start routing traffic (servers follow within a poll interval)."""
        return await _answer(lambda: facade.get().start(experiment_id, _actor(request)))

    @router.post("/v1/experiments/{experiment_id}/stop", tags=tags, responses=REFUSALS, dependencies=operate)
    async def stop_experiment(request: Request, experiment_id: str) -> JSONResponse:
        """Stop routing traffic; exposures stay for the analysis."""
        return await _answer(lambda: facade.get().stop(experiment_id, _actor(request)))

    @router.post("/v1/experiments/{experiment_id}/decide", tags=tags, responses=REFUSALS, dependencies=approve)
    async def decide_experiment(request: Request, experiment_id: str, body: DecideIn) -> JSONResponse:
        """Record the decision on a stopped experiment (approvers, audited; the same call as
        ``tripcast experiments decide``)."""
        actor = _actor(request, Role.APPROVER)
        return await _answer(lambda: facade.get().decide(experiment_id, body.verdict, actor))

    @router.get("/v1/experiments", tags=tags, responses=REFUSALS, dependencies=read)
    async def list_experiments(
        state: Annotated[str | None, Query(max_length=16)] = None,
    ) -> JSONResponse:
        """Every experiment, oldest first (optionally in one state)."""
        return await _answer(lambda: {"experiments": facade.get().list(state)})

    @router.get("/v1/experiments/{experiment_id}", tags=tags, responses=REFUSALS, dependencies=read)
    async def get_experiment(experiment_id: str) -> JSONResponse:
        """The experiment, its state and exposures per arm."""
        return await _answer(lambda: facade.get().get(experiment_id))

    @router.get("/v1/experiments/{experiment_id}/analysis", tags=tags, responses=REFUSALS, dependencies=read)
    async def experiment_analysis(experiment_id: str) -> JSONResponse:
        """The verdict and the numbers behind it (422 while no exposure has an outcome)."""
        return await _answer(lambda: facade.get().analysis(experiment_id))

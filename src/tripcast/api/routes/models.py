"""``/v1/models``: which version answers, and reloading it from the registry alias."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.schemas import ErrorOut, ModelOut, ReloadOut
from tripcast.api.security import AccessPolicy, Requires, identity_of
from tripcast.core.domain.access import Permission
from tripcast.core.ports.serving import ModelSource
from tripcast.core.services.prediction import ModelReload


def add_model_routes(router: APIRouter, models: ModelSource, reload: ModelReload, policy: AccessPolicy) -> None:
    """The routes describing and reloading the served model version."""

    @router.get(
        "/v1/models/current",
        tags=["models"],
        response_model=ModelOut,
        response_model_exclude_unset=True,
        responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]},
        dependencies=[Depends(Requires(policy, Permission.READ_MODEL))],
    )
    async def current_model(request: Request) -> ModelOut:
        """The model version answering predictions right now; run id and storage URI for operators and up."""
        identity = identity_of(request)  # found by the Requires dependency
        loaded = models.require()
        internals = identity is not None and identity.can(Permission.READ_INTERNALS)
        return ModelOut.of(loaded.version, loaded.loaded_at, loaded.predictor_kind, loaded.inference_form, internals)

    @router.post(
        "/v1/models/reload",
        tags=["models"],
        response_model=ReloadOut,
        dependencies=[Depends(Requires(policy, Permission.OPERATE))],
        responses={401: ERROR_RESPONSES[401], 403: ERROR_RESPONSES[403], 503: {"model": ErrorOut}},
    )
    async def reload_model(request: Request, force: bool = False) -> ReloadOut | Response:
        """Look at the registry alias now (``force`` reloads even when the version is unchanged)."""
        identity = identity_of(request)
        actor = identity.name if identity is not None else "anonymous"
        outcome = await run_in_threadpool(lambda: reload.reload(force=force, actor=actor))
        body = ReloadOut(changed=outcome.changed, model_version=outcome.version, error=outcome.error)
        if outcome.error and outcome.version is None:
            return Response(body.model_dump_json(), status_code=503, media_type="application/json")
        return body

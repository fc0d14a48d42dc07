"""Error bodies: every refusal names the field at fault and the problem, and client mistakes stay 4xx."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, ModelNotLoadedError, NotFoundError

log = logging.getLogger(__name__)

#: Union tags inserted by pydantic in error locations; they are not fields the client wrote.
_UNION_TAGS = frozenset({"trip", "batch"})
#: The part of the request at fault for plain HTTP refusals.
_STATUS_FIELDS = {400: "body", 401: "Authorization", 403: "Authorization", 413: "trips"}


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "batch", "trips", 0, "pickup_zone")`` -> ``trips[0].pickup_zone``."""
    parts: list[str] = []
    for item in loc:
        if item == "body" and not parts:
            continue
        if isinstance(item, str) and item in _UNION_TAGS:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


def problems_body(detail: str, problems: Iterable[FieldProblem]) -> dict[str, Any]:
    """The JSON body of a refusal."""
    return {"detail": detail, "errors": [{"field": p.field, "problem": p.problem} for p in problems]}


def _validation_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            message = f"malformed JSON: {ctx.get('error', message)}"
        problems.append(FieldProblem(field_path(error.get("loc", ())), message))
    return problems


def _oversized_batch(exc: RequestValidationError) -> str | None:
    """The refusal of a batch longer than the server's ``max_batch_size`` (a schema rule on ``trips``), if any."""
    for error in exc.errors():
        loc = error.get("loc", ())
        if error.get("type") == "too_long" and loc and loc[-1] == "trips":
            ctx = error.get("ctx") or {}
            return f"trips: batch of {ctx.get('actual_length')} exceeds max_batch_size {ctx.get('max_length')}"
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Map domain and framework errors to the API's error body."""

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        oversized = _oversized_batch(exc)
        if oversized is not None:
            return JSONResponse(problems_body(oversized, [FieldProblem("trips", oversized)]), status_code=413)
        problems = _validation_problems(exc)
        return JSONResponse(problems_body("request does not match the schema", problems), status_code=422)

    @app.exception_handler(InvalidInputError)
    async def _invalid_input(_: Request, exc: InvalidInputError) -> JSONResponse:
        return JSONResponse(problems_body("invalid trip", exc.problems), status_code=422)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(problems_body(str(exc), []), status_code=404)

    @app.exception_handler(ModelNotLoadedError)
    async def _not_loaded(_: Request, exc: ModelNotLoadedError) -> JSONResponse:
        return JSONResponse(problems_body(str(exc), []), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        field = _STATUS_FIELDS.get(exc.status_code)
        problems = [FieldProblem(field, str(exc.detail))] if field else []
        return JSONResponse(problems_body(str(exc.detail), problems), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug or an outage on our side: log it with the traceback, tell the client nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(problems_body("internal error", []), status_code=500)

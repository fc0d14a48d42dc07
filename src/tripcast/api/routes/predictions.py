"""``POST /v1/predictions``: one trip or a batch, answered by the core's prediction use case."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import problems_body
from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.schemas import PAYLOAD_EXAMPLES, BatchPredictionOut, PredictionOut, TripBatchIn, TripIn
from tripcast.api.security import AccessPolicy, Requires
from tripcast.bootstrap import bind_log_context
from tripcast.bootstrap.serving import ServingParts, prediction_payload, trip_requests
from tripcast.core.domain.access import Permission
from tripcast.core.domain.errors import FieldProblem
from tripcast.core.services.prediction import ServedPredictions

log = logging.getLogger(__name__)

#: The header a client may name its request with (echoed back; generated when absent).
REQUEST_ID_HEADER = "X-Request-Id"
#: Longest client request id accepted (the stores keep room for a batch row's ".<index>" after it).
MAX_REQUEST_ID_LENGTH = 128


def request_id_problem(value: str) -> FieldProblem | None:
    """Why a client's X-Request-Id is refused, or None: 1-128 visible ASCII characters (no space, no
    control character: it is echoed in a header, written to logs and joined on in CSV files of actuals)."""
    if not value or len(value) > MAX_REQUEST_ID_LENGTH or not all("!" <= c <= "~" for c in value):
        return FieldProblem(
            REQUEST_ID_HEADER,
            f"must be 1-{MAX_REQUEST_ID_LENGTH} printable ASCII characters without spaces "
            f"(got {len(value)} characters)",
        )
    return None


def client_request_ids(request_id: str, n_requests: int) -> tuple[str, ...]:
    """The ids of a request the client named: its id for one trip, "<id>.<i>" for row i of a batch of several
    (the rule of generated ids)."""
    return (request_id,) if n_requests == 1 else tuple(f"{request_id}.{index}" for index in range(n_requests))


def _body(served: ServedPredictions, *, batch: bool, request_id: str | None) -> Response:
    result: PredictionOut | BatchPredictionOut
    model = served.model
    route = served.route
    experiment, arm = (route.experiment, route.arm) if route is not None else (None, None)
    if batch:
        result = BatchPredictionOut(
            predictions=served.minutes,
            model_name=model.name,
            model_version=model.number,
            count=len(served.minutes),
            experiment=experiment,
            arm=arm,
        )
    else:
        result = PredictionOut(
            minutes=served.minutes[0], model_name=model.name, model_version=model.number, experiment=experiment, arm=arm
        )
    # Built from our own typed model, so FastAPI's re-validation against response_model (declared for the
    # docs) would only repeat work: a returned Response skips it.
    # The version that answered, for proxies and traces (the server span reads it); with the prediction log on,
    # the id the actual outcomes are later joined on: a batch's row i is "<id>.<i>". The client's own id is
    # echoed even when nothing is logged.
    if request_id is None and served.request_ids:
        request_id = batch_request_id(served.request_ids)
    headers = {"X-Model-Version": model.number}
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    return Response(result.model_dump_json(), media_type="application/json", headers=headers)


def batch_request_id(request_ids: tuple[str, ...]) -> str:
    """The one id a response names: a single trip's id, or the batch id its rows' ids ("<batch>.<i>") share."""
    if len(request_ids) == 1:
        return request_ids[0]
    return request_ids[0].rsplit(".", 1)[0]


def add_prediction_routes(router: APIRouter, parts: ServingParts, policy: AccessPolicy) -> None:
    """The prediction route; its body type carries this server's ``max_batch_size``."""
    prediction = parts.prediction

    async def predict(payload: Any, background: BackgroundTasks, request: Request) -> Response:
        batch = isinstance(payload, TripBatchIn)
        trips: list[TripIn] = payload.trips if isinstance(payload, TripBatchIn) else [payload]
        requests = trip_requests(trips, batch=batch)
        named = request.headers.get(REQUEST_ID_HEADER)
        ids = None
        if named is not None:
            problem = request_id_problem(named)
            if problem is not None:
                return JSONResponse(problems_body(f"invalid {REQUEST_ID_HEADER} header", [problem]), status_code=422)
            ids = client_request_ids(named, len(requests))
        unit = trips[0].client_id  # the unit of an experiment: the client when named, else the request
        inline = prediction.answers_inline(len(requests))
        served = (
            prediction.predict(requests, ids, unit)
            if inline
            else await run_in_threadpool(prediction.predict, requests, ids, unit)
        )
        if served.request_ids or named is not None:
            # The id the answer's X-Request-Id names, on every later line of this request (its task's context).
            bind_log_context(request_id=named or batch_request_id(served.request_ids))
        if log.isEnabledFor(logging.DEBUG):  # one line per request costs more than the prediction: DEBUG only
            log.debug("predicted %d trip(s)", len(served.minutes), extra={"model_version": served.model.number})
        if served.feature_rows is not None:
            if inline and prediction.drift_follows(served.model):
                prediction.observe_drift(served)  # the same microseconds of numpy as the prediction
            else:
                # A threaded request stays off the loop; a new version's profile load too (sync: threadpool).
                background.add_task(prediction.observe_drift, served)
        return _body(served, batch=batch, request_id=named)

    predict.__annotations__["payload"] = Annotated[
        prediction_payload(parts.settings.max_batch_size), Body(openapi_examples=PAYLOAD_EXAMPLES)
    ]
    router.post(
        "/v1/predictions",
        tags=["predictions"],
        response_model=PredictionOut | BatchPredictionOut,
        responses=ERROR_RESPONSES,
        summary="Predict trip duration for one trip or a batch",
        dependencies=[Depends(Requires(policy, Permission.PREDICT))],
    )(predict)

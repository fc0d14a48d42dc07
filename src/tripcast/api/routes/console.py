"""``/v1/console/*``: read-only JSON the web console (``frontend/``) draws, for any role that may read the model.

Zones for the trip form, the registry's versions, a snapshot of this process's monitoring metrics
(latency quantiles, refusals, online drift per feature, the served predictions' histogram against the
training reference's, live error by segment), and what the pipeline and
validation wrote per month, all read from what the composition root already hands the API: no new state,
nothing changed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tripcast.api.errors import problems_body
from tripcast.api.routes.common import ERROR_RESPONSES
from tripcast.api.security import AccessPolicy, Requires, identity_of
from tripcast.bootstrap.serving import ModelVersions, ServingParts, zone_boroughs
from tripcast.core.domain.access import Permission, roles_with
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.pipeline import DataRunHistory, MonthDataRecord
from tripcast.core.ports.serving import DriftWindow

#: The route whose latency the console shows.
PREDICTION_ROUTE = "/v1/predictions"
QUANTILES = (0.5, 0.95, 0.99)


def histogram_quantile(buckets: Iterable[tuple[float, float]], q: float) -> float | None:
    """Quantile ``q`` of a cumulative histogram ``(upper bound, count)``, linear within a bucket (as PromQL)."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _samples(registry: Any) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a prometheus registry by sample name (labels, value)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in registry.collect():
        for sample in family.samples:
            found[sample.name].append((dict(sample.labels), float(sample.value)))
    return found


def latency_summary(samples: dict[str, list[tuple[dict[str, str], float]]]) -> dict[str, Any]:
    """Prediction route latency quantiles in ms, its request count, and refusals (shed rate) since start."""
    buckets: dict[float, float] = defaultdict(float)
    for labels, value in samples.get("tripcast_http_request_duration_seconds_bucket", []):
        if labels.get("route") == PREDICTION_ROUTE:
            buckets[float(labels["le"])] += value
    requests = sum(
        value
        for labels, value in samples.get("tripcast_http_requests_total", [])
        if labels.get("route") == PREDICTION_ROUTE
    )
    rejected = {
        labels.get("reason", ""): value for labels, value in samples.get("tripcast_http_requests_rejected_total", [])
    }
    refused = sum(rejected.values())
    quantiles = {f"p{round(q * 100)}": histogram_quantile(buckets.items(), q) for q in QUANTILES}
    return {
        "latency_ms": {name: None if value is None else value * 1000 for name, value in quantiles.items()},
        "requests": requests,
        "rejected": rejected,
        "shed_rate": refused / (requests + refused) if requests + refused else 0.0,
    }


def drift_summary(samples: dict[str, list[tuple[dict[str, str], float]]]) -> dict[str, Any]:
    """The online drift window's latest verdicts: score and flag per feature, predictions, drifted share."""
    drifted = {
        labels.get("feature", ""): value >= 1 for labels, value in samples.get("tripcast_drift_feature_drifted", [])
    }
    features = [
        {"feature": labels.get("feature", ""), "method": labels.get("method", ""), "score": value,
         "drifted": drifted.get(labels.get("feature", ""), False)}
        for labels, value in samples.get("tripcast_drift_feature_score", [])
    ]  # fmt: skip
    prediction = [
        {"method": labels.get("method", ""), "score": value}
        for labels, value in samples.get("tripcast_drift_prediction_score", [])
    ]
    share = [value for _, value in samples.get("tripcast_drift_dataset_share", [])]
    rows = [value for _, value in samples.get("tripcast_drift_window_rows", [])]
    return {
        "features": sorted(features, key=lambda item: item["feature"]),
        "prediction": prediction,
        "dataset_share": share[0] if share else None,
        "window_rows": rows[0] if rows else 0,
    }


def live_error(samples: dict[str, list[tuple[dict[str, str], float]]]) -> list[dict[str, Any]]:
    """Live RMSE/MAE from ground truth per version and segment (from ``tripcast feedback``), when published."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for metric, key in (
        ("tripcast_live_rmse", "rmse"),
        ("tripcast_live_mae", "mae"),
        ("tripcast_live_labeled_rows", "n"),
    ):
        for labels, value in samples.get(metric, []):
            ident = (labels.get("version", ""), labels.get("segment", ""))
            rows.setdefault(ident, {"version": ident[0], "segment": ident[1]})[key] = value
    return sorted(rows.values(), key=lambda row: (row["version"], row["segment"]))


def distribution_payload(drift: DriftWindow | None) -> dict[str, Any] | None:
    """The served predictions' histogram next to the training reference's (None until both exist)."""
    found = drift.prediction_distribution() if drift is not None else None
    if found is None:
        return None
    return {
        "edges": found.edges,
        "reference": found.reference,
        "current": found.current,
        "n_reference": found.n_reference,
        "n_current": found.n_current,
    }


def version_payload(version: ModelVersion) -> dict[str, Any]:
    """One registry version as the console shows it (no run id or storage URI: viewers read this)."""
    return {
        "version": version.version,
        "aliases": list(version.aliases),
        "metrics": dict(version.metrics),
        "created_at": version.created_at.isoformat() if version.created_at else None,
    }


def _versions_answer(list_versions: ModelVersions | None, model: str) -> JSONResponse:
    if list_versions is None:
        return JSONResponse(problems_body("this server lists no registry versions", []), status_code=503)
    try:
        versions = list_versions(model)
    except Exception as exc:  # noqa: BLE001 - the registry down is a 503 with its reason, not a 500
        return JSONResponse(problems_body(f"cannot list versions: {exc}", []), status_code=503)
    ordered = sorted(versions, key=lambda v: int(v.version) if v.version.isdigit() else 0, reverse=True)
    return JSONResponse({"model": model, "versions": [version_payload(v) for v in ordered]})


def month_payload(record: MonthDataRecord) -> dict[str, Any]:
    """One month of the Data page: its pipeline run (None without one), counts, quarantine and quality."""
    run = None
    if record.steps:
        steps = [
            {"name": s.name, "status": s.status, "seconds": s.seconds, "finished_at": s.finished_at or None,
             "rows": dict(s.rows), "error": s.error or None}
            for s in record.steps
        ]  # fmt: skip
        run = {"status": record.run_status, "seconds": sum(s.seconds for s in record.steps), "steps": steps}
    quality = None
    if record.quality_status is not None:
        quality = {"status": record.quality_status, "failed_checks": record.failed_checks,
                   "warned_checks": record.warned_checks}  # fmt: skip
    return {
        "month": record.month,
        "rows_in": record.rows_in,
        "rows_valid": record.rows_valid,
        "rows_quarantined": record.rows_quarantined,
        "reasons": dict(record.reasons),
        "run": run,
        "quality": quality,
        "sources": list(record.sources),
    }


def data_payload(history: DataRunHistory, service: str) -> dict[str, Any]:
    """Every month the pipeline or validation left records for, and the quarantine reasons over all of them."""
    months = [month_payload(record) for record in history.months()]
    totals: dict[str, int] = defaultdict(int)
    for month in months:
        for reason, count in month["reasons"].items():
            totals[reason] += count
    reasons = dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))
    return {"service": service, "months": months, "reasons": reasons}


def _data_answer(runs: Callable[[], DataRunHistory], service: str) -> JSONResponse:
    try:
        return JSONResponse(data_payload(runs(), service))
    except OSError as exc:  # the data folder unreadable: a 503 with its reason, not a 500
        return JSONResponse(problems_body(f"cannot read the pipeline records: {exc}", []), status_code=503)


def add_console_routes(router: APIRouter, parts: ServingParts, policy: AccessPolicy) -> None:
    """The console's read-only routes (viewer and up)."""
    read = [Depends(Requires(policy, Permission.READ_MODEL))]
    responses: dict[int | str, dict[str, Any]] = {401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]}
    zones = sorted(
        ({"id": zone_id, "name": name, "borough": borough} for zone_id, (name, borough) in zone_boroughs().items()),
        key=lambda zone: (zone["borough"], zone["name"]),
    )

    @router.get("/v1/console/whoami", tags=["console"], responses=responses, dependencies=read)
    async def console_whoami(request: Request) -> dict[str, Any]:
        """The caller's key name, role and permissions: the console shows only the buttons the role may use."""
        identity = identity_of(request)
        allowed = sorted(p.value for p in Permission if (identity.can(p) if identity else p in policy.anonymous))
        who = {"name": identity.name, "role": identity.role.value} if identity else {"name": None, "role": None}
        roles = {p.value: [role.value for role in roles_with(p)] for p in Permission}
        return {**who, "permissions": allowed, "roles_with": roles}

    @router.get("/v1/console/zones", tags=["console"], responses=responses, dependencies=read)
    async def console_zones() -> dict[str, Any]:
        """TLC zones (id, name, borough), by borough then name: the trip form's pickers."""
        return {"zones": zones}

    @router.get("/v1/console/models", tags=["console"], responses=responses, dependencies=read)
    async def console_models() -> JSONResponse:
        """The served model's registered versions, newest first, with aliases and metrics."""
        return await run_in_threadpool(_versions_answer, parts.model_versions, parts.settings.model_name)

    @router.get("/v1/console/monitoring", tags=["console"], responses=responses, dependencies=read)
    async def console_monitoring() -> dict[str, Any]:
        """This process's monitoring snapshot: latency, refusals, online drift, prediction distribution, live error."""
        samples = _samples(parts.metrics.registry)
        distribution = await run_in_threadpool(distribution_payload, parts.prediction.drift)
        return {
            "serving": latency_summary(samples),
            "drift": drift_summary(samples),
            "prediction_distribution": distribution,
            "live_error": live_error(samples),
        }

    runs = parts.data_runs
    if runs is not None:  # wired by the root (the pipeline's readers); absent: 404, the page's empty state

        @router.get("/v1/console/data", tags=["console"], responses=responses, dependencies=read)
        async def console_data() -> JSONResponse:
            """Pipeline runs, row counts, quarantine reasons and quality status per month, oldest first."""
            return await run_in_threadpool(_data_answer, runs, parts.settings.service)


__all__ = ["add_console_routes", "histogram_quantile"]

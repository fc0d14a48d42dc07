"""Liveness, readiness and the Prometheus exposition: answered even when the server sheds load."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from tripcast.bootstrap.serving import ServingMetrics, negotiated_exposition
from tripcast.core.ports.serving import ModelSource


def add_health_routes(router: APIRouter, models: ModelSource, metrics: ServingMetrics) -> None:
    """``/health/live``, ``/health/ready`` and ``/metrics``."""

    @router.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        """The process answers."""
        return {"status": "alive"}

    @router.get("/health/ready", tags=["health"], responses={503: {"description": "No model loaded yet"}})
    async def ready(response: Response) -> dict[str, Any]:
        """Ready once a model version is loaded; the reason otherwise is a fixed sentence, never an error's text."""
        loaded = models.current
        if loaded is None:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "not ready", "reason": models.not_ready_reason}
        return {"status": "ready", "model_name": loaded.name, "model_version": loaded.number}

    @router.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus exposition: this process's metrics, or all workers' under `tripcast serve --workers N`;
        OpenMetrics (with exemplars: trace ids of sampled requests) when the scraper asks for it."""
        body, content_type = negotiated_exposition(
            metrics.registry, request.headers.get("accept", ""), metrics.on_scrape
        )
        return Response(body, headers={"Content-Type": content_type})

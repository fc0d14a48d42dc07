"""Read SLO series and firing alerts from Prometheus's HTTP API (the recording rules did the arithmetic)."""

from __future__ import annotations

import math
from typing import Any

import httpx

from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.slo import SloMetrics, SloObjective
from tripcast.security.urls import mask_url


class PrometheusUnavailableError(TripcastError):
    """Prometheus did not answer, or answered with an error."""


class PrometheusSloMetrics(SloMetrics):
    """Instant queries against ``url`` (``/api/v1/query``)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def error_ratio(self, objective: SloObjective, window: str) -> float | None:
        values = self._query(f"slo:sli_error:ratio_rate{window}{_selector(objective)}")
        finite = [v for v in values if math.isfinite(v)]
        return max(finite) if finite else None

    def firing(self, objective: SloObjective) -> list[str]:
        query = f'ALERTS{{alertstate="firing", sloth_service="{objective.service}", sloth_slo="{objective.name}"}}'
        return sorted({labels.get("sloth_severity", "") for labels in self._series(query)} - {""})

    def _query(self, promql: str) -> list[float]:
        return [float(sample["value"][1]) for sample in self._result(promql)]

    def _series(self, promql: str) -> list[dict[str, str]]:
        return [dict(sample["metric"]) for sample in self._result(promql)]

    def _result(self, promql: str) -> list[dict[str, Any]]:
        where = mask_url(self.url)
        try:
            response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise PrometheusUnavailableError(
                f"Prometheus at {where} is unreachable ({type(exc).__name__}); set TRIPCAST_PROMETHEUS_URL"
            ) from None
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or payload.get("status") != "success":
            error = payload.get("error", response.text[:200])
            raise PrometheusUnavailableError(
                f"Prometheus at {where} refused the query ({response.status_code}): {error}"
            )
        result: list[dict[str, Any]] = payload["data"]["result"]
        return result


def _selector(objective: SloObjective) -> str:
    return f'{{sloth_service="{objective.service}", sloth_slo="{objective.name}"}}'

"""Prometheus Alertmanager's HTTP API (v2) as the :class:`AlertGateway`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.alerting import ActiveAlert, AlertGateway, AlertNotice
from tripcast.security.urls import mask_url


class AlertmanagerUnavailableError(TripcastError):
    """Alertmanager did not answer, or refused the request."""


class AlertmanagerGateway(AlertGateway):
    """Alerts, silences and raised alerts through ``/api/v2`` of the Alertmanager at ``url``."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def alerts(self) -> list[ActiveAlert]:
        held = [_alert(item) for item in self._call("GET", "/api/v2/alerts")]
        return sorted(held, key=lambda a: a.starts_at, reverse=True)

    def silence(self, matchers: Mapping[str, str], *, until: datetime, created_by: str, comment: str) -> str:
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": datetime.now(UTC).isoformat(),
            "endsAt": until.isoformat(),
            "createdBy": created_by,
            "comment": comment or "silenced with tripcast",
        }
        return str(self._call("POST", "/api/v2/silences", body)["silenceID"])

    def send(self, notices: Sequence[AlertNotice]) -> None:
        now = datetime.now(UTC).isoformat()
        self._call("POST", "/api/v2/alerts", [
            {"labels": {**n.labels, "alertname": n.name, "severity": n.severity},
             "annotations": {"summary": n.summary}, "startsAt": now}
            for n in notices
        ])  # fmt: skip

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        where = mask_url(self.url)
        try:
            response = httpx.request(method, f"{self.url}{path}", json=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise AlertmanagerUnavailableError(
                f"Alertmanager at {where} is unreachable ({type(exc).__name__}); set TRIPCAST_ALERTMANAGER_URL"
            ) from None
        if response.status_code >= 400:
            raise AlertmanagerUnavailableError(
                f"Alertmanager at {where} refused {method} {path} ({response.status_code}): {response.text[:200]}"
            )
        return response.json() if response.content else None


def _alert(item: Mapping[str, Any]) -> ActiveAlert:
    labels = {str(k): str(v) for k, v in item.get("labels", {}).items()}
    status = item.get("status", {})
    return ActiveAlert(
        fingerprint=str(item.get("fingerprint", "")),
        name=labels.get("alertname", ""),
        severity=labels.get("severity", labels.get("sloth_severity", "")),
        state=str(status.get("state", "active")),
        labels=labels,
        summary=str(item.get("annotations", {}).get("summary", "")),
        starts_at=datetime.fromisoformat(str(item["startsAt"]).replace("Z", "+00:00")),
        silenced_by=tuple(status.get("silencedBy") or ()),
        inhibited_by=tuple(status.get("inhibitedBy") or ()),
    )

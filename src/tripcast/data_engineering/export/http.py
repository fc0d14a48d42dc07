"""Deliver rows to an HTTP endpoint as JSON batches (POST), retrying transient failures with backoff."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pandas as pd

from tripcast.core.domain.errors import TripcastError

RETRYABLE = {429, 500, 502, 503, 504}


class DeliveryError(TripcastError):
    """The endpoint refused a batch (4xx other than 429) or kept failing after every retry."""


class HttpExporter:
    """POSTs ``{"table": ..., "rows": [...]}`` batches; a 4xx (except 429) is a permanent error, not retried."""

    def __init__(
        self,
        url: str,
        batch_size: int = 1000,
        retries: int = 3,
        backoff_seconds: float = 0.2,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.batch_size = batch_size
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.client = httpx.Client(timeout=timeout, headers=headers or {})
        self.sleep = sleep

    def send(self, table: str, frame: pd.DataFrame) -> int:
        """Send every row of ``frame`` in batches; return the number of batches delivered."""
        rows = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        batches = 0
        for start in range(0, len(rows), self.batch_size):
            self._post({"table": table, "rows": rows[start : start + self.batch_size]})
            batches += 1
        return batches

    def _post(self, payload: dict) -> None:
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(self.url, json=payload)
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRYABLE:
                    raise DeliveryError(f"{self.url} refused a batch: {error}")
            if attempt < self.retries:
                self.sleep(self.backoff_seconds * 2**attempt)
        raise DeliveryError(f"{self.url} failed after {self.retries + 1} attempts: {error}")

    def close(self) -> None:
        self.client.close()

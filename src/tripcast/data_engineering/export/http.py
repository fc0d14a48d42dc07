"""Deliver rows to an HTTP endpoint as JSON batches (POST), retrying transient failures (the shared RetryPolicy)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pandas as pd

from tripcast.core.domain.errors import TripcastError
from tripcast.data_engineering.ingestion.retry import RetryableError, RetryPolicy, check_response, transport_error


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
        self.retry = RetryPolicy(attempts=retries + 1, backoff_seconds=backoff_seconds, sleep=sleep)
        self.client = httpx.Client(timeout=timeout, headers=headers or {})

    def send(self, table: str, frame: pd.DataFrame) -> int:
        """Send every row of ``frame`` in batches; return the number of batches delivered."""
        rows = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        batches = 0
        for start in range(0, len(rows), self.batch_size):
            self._post({"table": table, "rows": rows[start : start + self.batch_size]})
            batches += 1
        return batches

    def _post(self, payload: dict) -> None:
        """One batch under the retry policy: 429/5xx and network errors retried, other 4xx refused at once."""

        def attempt() -> None:
            try:
                response = self.client.post(self.url, json=payload)
            except httpx.TransportError as exc:
                raise transport_error(exc) from exc
            check_response(response, self.retry.max_retry_after_seconds)
            if response.status_code >= 300:
                raise DeliveryError(f"{self.url} refused a batch: HTTP {response.status_code}: {response.text[:200]}")

        def give_up(error: RetryableError, attempts: int) -> DeliveryError:
            return DeliveryError(f"{self.url} failed after {attempts} attempts: {error}")

        self.retry.call(attempt, give_up)

    def close(self) -> None:
        self.client.close()

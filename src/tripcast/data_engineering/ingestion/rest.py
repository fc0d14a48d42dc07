"""Trips from a paginated REST JSON API, with retries, exponential backoff and client-side rate limiting.

The API is asked for ``GET <url>?month=YYYY-MM&page=1&page_size=N`` and answers
``{"data": [trip, ...], "next": <absolute URL> | null}`` or
``{"data": [...], "next_page": <number> | null}``. 429 and 5xx answers and network
errors are retried with exponential backoff (honouring ``Retry-After`` up to
``max_retry_after_seconds``); other 4xx answers are permanent errors.

Requests go through :mod:`tripcast.egress`: a private, loopback or link-local target is refused unless
the settings allow it, and a ``next`` link may not leave the API's scheme, host and port.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset, TripDataSource
from tripcast.data_engineering.ingestion.records import frame_digest, records_to_trips
from tripcast.egress import EgressPolicy, guarded_client

RETRYABLE = frozenset({429, 500, 502, 503, 504})


class ApiSourceError(TripcastError):
    """The API refused a request or kept failing after every retry."""


class RateLimiter:
    """At most ``rate`` requests per second: each request waits until ``1/rate`` s after the previous one."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next_allowed = 0.0

    def wait(self) -> float:
        """Block until a request is allowed; return how long it waited."""
        now = self.clock()
        delay = max(0.0, self._next_allowed - now)
        if delay:
            self.sleep(delay)
        self._next_allowed = max(now, self._next_allowed) + self.interval
        return delay


class RestTripSource(TripDataSource):
    """A :class:`TripDataSource` over a paginated JSON API."""

    def __init__(
        self,
        url: str,
        *,
        service: str = "green",
        page_size: int = 1000,
        retries: int = 4,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        requests_per_second: float = 10.0,
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = 100_000,
        max_retry_after_seconds: float | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.url = url
        self.service = service
        self.page_size = page_size
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.sleep = sleep
        self.limiter = RateLimiter(requests_per_second, sleep=sleep)
        if egress is None or max_retry_after_seconds is None:  # the deployment's settings decide
            from tripcast.settings import load_settings

            settings = load_settings()
            egress = egress if egress is not None else EgressPolicy.from_settings(settings)
            if max_retry_after_seconds is None:
                max_retry_after_seconds = settings.rest_max_retry_after_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.egress = egress
        self.egress.check_url(url)
        self.client = guarded_client(self.egress, timeout=timeout, headers=headers)
        self.max_pages = max_pages
        self.attempts: list[int] = []  # status of every HTTP attempt (0 = network error), for reports

    def fetch(self, month: Month) -> str:
        """Where the month comes from (the API is read on :meth:`load`)."""
        return f"{self.url}?month={month}"

    def load(self, month: Month) -> RawDataset:
        """Every page of the month, in the canonical schema."""
        records = [row for page in self.pages(month) for row in page]
        trips = records_to_trips(records, self.service)
        return RawDataset(trips, month, self.fetch(month), frame_digest(trips))

    def pages(self, month: Month) -> Iterator[list[dict[str, Any]]]:
        """The ``data`` list of each page, following ``next`` links or ``next_page`` numbers."""
        url: str | None = self.url
        params: dict[str, Any] | None = {"month": str(month), "page": 1, "page_size": self.page_size}
        for _ in range(self.max_pages):
            if url is None:
                return
            body = self._get_json(url, params)
            data = body.get("data", body.get("trips"))
            if not isinstance(data, list):
                raise ApiSourceError(f"{url}: answer has no 'data' list (keys: {sorted(body)})")
            yield data
            if body.get("next"):
                url, params = self._same_origin(url, str(body["next"])), None
            elif body.get("next_page"):
                params = {"month": str(month), "page": int(body["next_page"]), "page_size": self.page_size}
            else:
                url = None
        raise ApiSourceError(f"{self.url}: more than {self.max_pages} pages; refusing to loop forever")

    def _same_origin(self, current: str, link: str) -> str:
        """The ``next`` link made absolute; refused if it leaves the API's scheme, host and port."""
        target = urljoin(current, link)
        base, parts = urlsplit(self.url), urlsplit(target)
        if (parts.scheme, parts.hostname, parts.port) != (base.scheme, base.hostname, base.port):
            raise ApiSourceError(
                f"{self.url}: refusing to follow a next link to another host ({parts.scheme}://{parts.netloc})"
            )
        return target

    def _get_json(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        error = ""
        for attempt in range(self.retries + 1):
            self.limiter.wait()
            retry_after: float | None = None
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                self.attempts.append(0)
                error = f"{type(exc).__name__}: {exc}"
            else:
                self.attempts.append(response.status_code)
                if response.status_code < 300:
                    try:
                        return dict(response.json())
                    except ValueError as exc:
                        raise ApiSourceError(f"{url}: answer is not JSON: {exc}") from exc
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRYABLE:
                    raise ApiSourceError(f"{url} refused the request: {error}")
                retry_after = _retry_after(response, self.max_retry_after_seconds)
            if attempt < self.retries:
                backoff = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
                self.sleep(max(backoff, retry_after or 0.0))
        raise ApiSourceError(f"{url} failed after {self.retries + 1} attempts: {error}")

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    """Seconds the server asks to wait (a number or an HTTP date), never more than ``cap``."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)

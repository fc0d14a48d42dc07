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

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset, TripDataSource
from tripcast.data_engineering.ingestion.records import frame_digest, records_to_trips
from tripcast.data_engineering.ingestion.retry import RetryableError, RetryPolicy, check_response, transport_error
from tripcast.egress import EgressPolicy, guarded_client


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
        self.limiter = RateLimiter(requests_per_second, sleep=sleep)
        if egress is None or max_retry_after_seconds is None:  # the deployment's settings decide
            from tripcast.settings import load_settings

            settings = load_settings()
            egress = egress if egress is not None else EgressPolicy.from_settings(settings)
            if max_retry_after_seconds is None:
                max_retry_after_seconds = settings.rest_max_retry_after_seconds
        self.retry = RetryPolicy(
            attempts=retries + 1,
            backoff_seconds=backoff_seconds,
            max_backoff_seconds=max_backoff_seconds,
            max_retry_after_seconds=max_retry_after_seconds,
            sleep=sleep,
        )
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
        """One page under the retry policy: 429/5xx and network errors retried, other 4xx refused at once."""

        def attempt() -> dict[str, Any]:
            self.limiter.wait()
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                self.attempts.append(0)
                raise transport_error(exc) from exc
            self.attempts.append(response.status_code)
            check_response(response, self.retry.max_retry_after_seconds)
            if response.status_code >= 300:
                raise ApiSourceError(f"{url} refused the request: HTTP {response.status_code}: {response.text[:200]}")
            try:
                return dict(response.json())
            except ValueError as exc:
                raise ApiSourceError(f"{url}: answer is not JSON: {exc}") from exc

        def give_up(error: RetryableError, attempts: int) -> ApiSourceError:
            return ApiSourceError(f"{url} failed after {attempts} attempts: {error}")

        return self.retry.call(attempt, give_up)

    def close(self) -> None:
        self.client.close()

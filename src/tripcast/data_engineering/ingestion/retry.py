"""One retry policy for every outbound transfer (TLC download, REST ingestion, HTTP export), built on tenacity.

A caller raises :class:`RetryableError` for a failure another attempt may fix (a network error, a 429 or
5xx answer, a truncated body), optionally with the server's ``Retry-After``; any other exception stops at
once. Waits grow exponentially with a little random jitter (so many clients do not retry in step), are
capped, and never shorter than what the server asked for (itself capped: a server cannot park us for an
hour). When every attempt failed, the caller's ``give_up`` turns the last error into one clear message.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
import tenacity

T = TypeVar("T")

#: HTTP statuses worth another attempt: rate limited, or the server (or a proxy before it) failing.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class RetryableError(Exception):
    """A failure another attempt may fix; ``final`` marks one it cannot (e.g. DNS says the host does not exist)."""

    def __init__(self, message: str, *, retry_after: float | None = None, final: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.final = final


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries; the n-th wait is ``backoff_seconds * 2**(n-1)`` (at most
    ``max_backoff_seconds``) plus up to ``jitter`` of itself, or the server's ``Retry-After`` when longer
    (at most ``max_retry_after_seconds``)."""

    attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 60.0
    jitter: float = 0.1
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait_seconds(self, attempt_number: int, retry_after: float | None = None) -> float:
        """How long to wait after failed attempt ``attempt_number`` (1-based)."""
        backoff = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt_number - 1))
        backoff *= 1.0 + random.uniform(0.0, self.jitter)  # jitter spreads clients apart; not cryptography
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.max_retry_after_seconds))
        return backoff

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        return self.wait_seconds(state.attempt_number, retry_after)

    def retrying(self) -> tenacity.Retrying:
        """A tenacity ``Retrying`` that retries :class:`RetryableError` (not ``final``) and re-raises the last."""
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=self._wait,
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, RetryableError) and not exc.final),
            sleep=self.sleep,
            reraise=True,
        )

    def call(self, attempt: Callable[[], T], give_up: Callable[[RetryableError, int], Exception]) -> T:
        """``attempt()`` under this policy; after the last failure, raise ``give_up(last_error, attempts_made)``."""
        made = 0

        def counted() -> T:
            nonlocal made
            made += 1
            return attempt()

        try:
            return self.retrying()(counted)
        except RetryableError as exc:
            raise give_up(exc, made) from exc


def retry_after_seconds(response: httpx.Response, cap: float) -> float | None:
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


def check_response(response: httpx.Response, cap: float = 60.0) -> httpx.Response:
    """``response`` when it succeeded; :class:`RetryableError` (with its ``Retry-After``) for 429/5xx.

    Other statuses are returned too: what a 4xx means is the caller's call.
    """
    if response.status_code in RETRYABLE_STATUSES:
        raise RetryableError(
            f"HTTP {response.status_code}: {response.text[:200]}", retry_after=retry_after_seconds(response, cap)
        )
    return response


def transport_error(exc: httpx.TransportError) -> RetryableError:
    """A network failure as a retryable error naming its kind."""
    return RetryableError(f"{type(exc).__name__}: {exc}")

"""The one retry policy (tenacity) shared by the TLC download, REST ingestion and HTTP export."""

from __future__ import annotations

import httpx
import pytest

from tripcast.data_engineering.ingestion.retry import RetryableError, RetryPolicy, check_response


class GaveUpError(Exception):
    pass


def _give_up(error: RetryableError, attempts: int) -> GaveUpError:
    return GaveUpError(f"failed after {attempts} attempts: {error}")


def _failing(errors: list[Exception], result: str = "ok"):
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


def test_retries_transient_errors_with_exponential_backoff_and_bounded_jitter():
    slept: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_seconds=1.0, jitter=0.1, sleep=slept.append)
    attempt, calls = _failing([RetryableError("a"), RetryableError("b"), RetryableError("c")])
    assert policy.call(attempt, _give_up) == "ok"
    assert len(calls) == 4
    for wait, base in zip(slept, [1.0, 2.0, 4.0], strict=True):
        assert base <= wait <= base * 1.1


def test_backoff_is_capped_and_retry_after_wins_when_longer_but_is_capped_too():
    policy = RetryPolicy(backoff_seconds=1.0, max_backoff_seconds=3.0, max_retry_after_seconds=10.0, jitter=0.0)
    assert policy.wait_seconds(5) == 3.0
    assert policy.wait_seconds(1, retry_after=7.0) == 7.0
    assert policy.wait_seconds(1, retry_after=3600.0) == 10.0  # a server cannot park us for an hour
    assert policy.wait_seconds(3, retry_after=0.5) == 3.0  # our own backoff when the server asks for less


def test_the_servers_retry_after_is_what_the_policy_waits():
    slept: list[float] = []
    policy = RetryPolicy(attempts=2, backoff_seconds=0.01, jitter=0.0, sleep=slept.append)
    answers = [httpx.Response(429, headers={"Retry-After": "2"}, text="slow down"), httpx.Response(200)]

    def rate_limited_once() -> int:
        return check_response(answers.pop(0)).status_code

    assert policy.call(rate_limited_once, _give_up) == 200
    assert slept == [2.0]


def test_after_the_last_attempt_the_callers_error_names_the_attempts_and_the_last_failure():
    policy = RetryPolicy(attempts=3, backoff_seconds=0.0, sleep=lambda s: None)
    attempt, calls = _failing([RetryableError(f"HTTP 50{i}") for i in range(5)])
    with pytest.raises(GaveUpError, match="failed after 3 attempts: HTTP 502"):
        policy.call(attempt, _give_up)
    assert len(calls) == 3


def test_final_and_other_errors_are_not_retried():
    policy = RetryPolicy(attempts=5, backoff_seconds=0.0, sleep=lambda s: None)
    attempt, calls = _failing([RetryableError("no such host", final=True)])
    with pytest.raises(GaveUpError, match="failed after 1 attempts: no such host"):
        policy.call(attempt, _give_up)
    attempt, calls = _failing([ValueError("a 404 is an answer")])
    with pytest.raises(ValueError, match="404"):
        policy.call(attempt, _give_up)
    assert len(calls) == 1


def test_check_response_marks_429_and_5xx_retryable_and_passes_the_rest():
    with pytest.raises(RetryableError, match="HTTP 503") as raised:
        check_response(httpx.Response(503, headers={"Retry-After": "4"}))
    assert raised.value.retry_after == 4.0
    assert check_response(httpx.Response(404)).status_code == 404
    assert check_response(httpx.Response(200)).status_code == 200

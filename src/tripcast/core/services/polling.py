"""Waiting for another process to catch up: poll a probe until its value is good enough or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    seconds: float,
    every: float,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, bool]:
    """Call ``probe`` every ``every`` seconds until ``done(value)`` or ``seconds`` have passed.

    Returns the last value and whether it was done, so the caller words its own error from what it saw.
    The probe runs at least once, and once more at the deadline: a slow last poll is not lost.
    """
    deadline = monotonic() + seconds
    while True:
        value = probe()
        if done(value):
            return value, True
        if monotonic() >= deadline:
            return value, False
        sleep(every)

"""Settings for functional tests of the prediction API."""

from __future__ import annotations

from typing import Any

from tripcast.settings import Settings


def functional_settings(**overrides: Any) -> Settings:
    """Settings whose load shedding counts only requests in flight.

    Loop lag and loop busy share measure the host, not the code under test: on a loaded CI machine one slow
    loop iteration makes the shedder refuse a functional test's next request with a 503. Tests about shedding
    build their own settings.
    """
    # An audit key of production strength, so tests of staging/production behaviour need not repeat it.
    defaults = {"max_loop_lag_ms": 0, "max_loop_busy": 0, "audit_key": "functional-tests-audit-key-0123456789"}
    return Settings(**{**defaults, **overrides})

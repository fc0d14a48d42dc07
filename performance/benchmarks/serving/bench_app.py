"""The benchmark's ASGI factory: Tripcast's own app, with the overload guard's lag budget from the settings.

``create_app`` does not pass ``max_loop_lag_ms`` to the overload middleware yet (that wiring belongs to
``tripcast.api.app``); until it does, this factory applies the setting so benchmark runs can compare
budgets (``TRIPCAST_MAX_LOOP_LAG_MS=0`` turns the lag check off). Serve it with
``uvicorn --factory bench_app:app_from_env`` from this directory.
"""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI

from tripcast.api.asgi import app_from_env as tripcast_app_from_env
from tripcast.api.middleware import OverloadMiddleware
from tripcast.settings import Settings


def app_from_env() -> FastAPI:
    """Tripcast's app from ``TRIPCAST_*`` settings, lag budget included.

    ``BENCH_SWITCH_INTERVAL_MS`` sets CPython's GIL switch interval (default 5 ms) for experiments: the
    event loop and the prediction threads hand the GIL to each other once per request.
    """
    if os.environ.get("BENCH_SWITCH_INTERVAL_MS"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL_MS"]) / 1000)
    settings = Settings()
    app = tripcast_app_from_env(settings)
    budget = settings.max_loop_lag_ms / 1000 if settings.max_loop_lag_ms > 0 else None
    for middleware in app.user_middleware:
        if middleware.cls is OverloadMiddleware:
            middleware.kwargs["max_loop_lag_seconds"] = budget
    return app

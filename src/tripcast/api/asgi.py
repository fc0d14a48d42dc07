"""ASGI entry point built from settings, for ``uvicorn --factory tripcast.api.asgi:app_from_env``.

Multi-worker uvicorn needs an import string rather than an app object; each worker calls this factory,
which wires its own adapters through the composition root.
"""

from __future__ import annotations

from fastapi import FastAPI

from tripcast.api.app import create_app
from tripcast.bootstrap.serving import Settings, serving_parts_from_env


def app_from_env(settings: Settings | None = None) -> FastAPI:
    """The prediction API wired from ``TRIPCAST_*`` settings (``settings`` overrides them)."""
    return create_app(serving_parts_from_env(settings))

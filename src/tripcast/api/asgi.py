"""ASGI entry point built from settings, for ``uvicorn --factory tripcast.api.asgi:app_from_env``.

Multi-worker uvicorn needs an import string rather than an app object; each worker calls this factory
and wires its own adapters through the composition root.
"""

from __future__ import annotations

from fastapi import FastAPI

from tripcast.api.app import create_app
from tripcast.settings import Settings


def app_from_env(settings: Settings | None = None) -> FastAPI:
    """The prediction API wired from ``TRIPCAST_*`` settings via :func:`tripcast.bootstrap.bootstrap`."""
    from tripcast.bootstrap import bootstrap

    tripcast = bootstrap(settings)
    return create_app(tripcast.settings, tripcast.registry, feature_builder=tripcast.features)

"""The HTTP API (a driving adapter): real-time trip-duration predictions with FastAPI."""

from tripcast.api.app import create_app

__all__ = ["create_app"]

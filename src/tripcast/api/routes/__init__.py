"""The API's routers, one per resource: predictions, models, health (liveness, readiness, metrics)."""

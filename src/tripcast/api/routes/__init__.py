"""The API's routes, one module per resource: predictions, models, health (liveness, readiness, metrics)."""

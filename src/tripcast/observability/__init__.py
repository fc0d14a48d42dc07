"""Observability: alerting on the metrics the services and monitoring jobs expose."""

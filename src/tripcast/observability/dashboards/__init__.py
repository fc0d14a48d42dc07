"""Grafana dashboards as code, built with Grafana's Foundation SDK (``tripcast dashboards export``)."""

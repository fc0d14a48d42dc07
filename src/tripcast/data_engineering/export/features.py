"""Export a month's feature tables to the sinks configured in :class:`~tripcast.settings.Settings`."""

from __future__ import annotations

import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.data_engineering.export.http import HttpExporter
from tripcast.data_engineering.export.postgres import PostgresExporter
from tripcast.settings import Settings

#: Feature table -> natural key (with ``service`` added, since green and yellow share the tables).
FEATURE_KEYS: dict[str, tuple[str, ...]] = {
    "zone_hour": ("service", "pickup_zone", "feature_timestamp"),
    "zone_pair": ("service", "pickup_zone", "dropoff_zone", "feature_timestamp"),
}


def export_features(
    frames: dict[str, pd.DataFrame], settings: Settings, *, service: str, month: Month
) -> dict[tuple[str, str], int]:
    """Upsert to PostgreSQL and/or POST to HTTP; return ``{(sink, table): rows or batches}``."""
    sent: dict[tuple[str, str], int] = {}
    tagged = {name: frame.assign(service=service) for name, frame in frames.items()}
    if settings.export_postgres_url:
        pg = PostgresExporter(settings.export_postgres_url)
        try:
            for name, frame in tagged.items():
                sent[("postgres", name)] = pg.upsert(f"features_{name}", frame, FEATURE_KEYS[name])
        finally:
            pg.close()
    if settings.export_http_url:
        http = HttpExporter(settings.export_http_url)
        try:
            for name, frame in tagged.items():
                sent[("http", name)] = http.send(f"{name}:{service}:{month}", frame)
        finally:
            http.close()
    return sent

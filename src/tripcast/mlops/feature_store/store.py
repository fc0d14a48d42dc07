"""The Feast feature store for zone aggregates: apply, materialize, training joins, online reads.

Offline store: DuckDB over the parquet tables (:mod:`.offline`). Online store: SQLite file
by default, Redis when ``online_url`` is ``redis://...``. Feast remains the source of
definitions and materialization; :mod:`.fast_online` reads the same online store directly
for the serving hot path.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.mlops.feature_store.definitions import (
    FEATURE_REFS,
    ZONE_HOUR_FEATURES,
    ZONE_HOUR_VIEW,
    ZONE_PAIR_FEATURES,
    ZONE_PAIR_VIEW,
    build_definitions,
)

PROJECT = "tripcast"


@dataclass(frozen=True, slots=True)
class FeatureStoreSettings:
    """Where the store keeps things. ``online_url``: None (SQLite under ``repo_dir``) or ``redis://host:port/db``."""

    repo_dir: Path
    offline_dir: Path
    online_url: str | None = None
    project: str = PROJECT

    def __post_init__(self) -> None:
        # Feast reads a relative registry path against repo_path: a relative repo_dir would be doubled
        # (data/feature_store/repo/data/feature_store/repo). Absolute paths mean nothing depends on the cwd.
        object.__setattr__(self, "repo_dir", Path(self.repo_dir).expanduser().resolve())
        object.__setattr__(self, "offline_dir", Path(self.offline_dir).expanduser().resolve())

    @property
    def sqlite_path(self) -> Path:
        return self.repo_dir / "online_store.db"


def _redis_connection_string(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme != "redis":
        raise InvalidInputError([FieldProblem("online_url", f"{url!r}: only redis:// URLs (or none for SQLite)")])
    db = (parsed.path or "/0").lstrip("/") or "0"
    return f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 6379},db={db}"


class ZoneFeatureStore:
    """Feast wrapper for the zone aggregates."""

    def __init__(self, settings: FeatureStoreSettings) -> None:
        from feast import FeatureStore, RepoConfig

        self.settings = settings
        settings.repo_dir.mkdir(parents=True, exist_ok=True)
        if settings.online_url:
            online: dict[str, Any] = {
                "type": "redis",
                "connection_string": _redis_connection_string(settings.online_url),
            }
        else:
            online = {"type": "sqlite", "path": str(settings.sqlite_path)}
        self.config = RepoConfig(
            project=settings.project,
            provider="local",
            registry=str(settings.repo_dir / "registry.db"),
            online_store=online,
            offline_store={"type": "duckdb"},
            repo_path=settings.repo_dir,
            entity_key_serialization_version=3,
        )
        self.feast = FeatureStore(config=self.config)

    def apply(self) -> None:
        """Register entities and feature views (idempotent)."""
        self.feast.apply(build_definitions(self.settings.offline_dir))

    def materialize(self, start: datetime, end: datetime) -> None:
        """Load feature rows stamped in ``[start, end]`` into the online store."""
        self.apply()
        self.feast.materialize(start_date=_utc(start), end_date=_utc(end))

    def training_frame(self, entity_df: pd.DataFrame, features: list[str] | None = None) -> pd.DataFrame:
        """Point-in-time join: ``entity_df`` needs ``pickup_zone``, ``dropoff_zone``, ``event_timestamp``."""
        missing = [c for c in ("pickup_zone", "dropoff_zone", "event_timestamp") if c not in entity_df.columns]
        if missing:
            raise InvalidInputError([FieldProblem(c, "column missing from the entity frame") for c in missing])
        frame = entity_df.copy()
        frame["pickup_zone"] = frame["pickup_zone"].astype("int64")
        frame["dropoff_zone"] = frame["dropoff_zone"].astype("int64")
        frame["event_timestamp"] = _utc_series(frame["event_timestamp"])
        job = self.feast.get_historical_features(entity_df=frame, features=features or FEATURE_REFS)
        return job.to_df()

    def online(self, rows: list[dict[str, int]], features: list[str] | None = None) -> dict[str, list[Any]]:
        """Feast's online read for ``[{"pickup_zone": .., "dropoff_zone": ..}, ...]``."""
        return self.feast.get_online_features(features=features or FEATURE_REFS, entity_rows=rows).to_dict()

    def fast_reader(self) -> Any:
        """A direct reader of this store's online rows (SQLite or Redis) for the serving hot path."""
        from tripcast.mlops.feature_store.fast_online import RedisOnlineReader, SqliteOnlineReader

        if self.settings.online_url:
            import redis

            return RedisOnlineReader(redis.Redis.from_url(self.settings.online_url), self.settings.project)
        return SqliteOnlineReader(self.settings.sqlite_path, self.settings.project)

    def freshness(self, now: datetime | None = None) -> dict[str, float]:
        """Seconds since each view's latest materialized feature timestamp (inf when never materialized)."""
        now = _utc(now or datetime.now(UTC))
        result: dict[str, float] = {}
        for view in (ZONE_HOUR_VIEW, ZONE_PAIR_VIEW):
            latest = self._latest_event(view)
            result[view] = float("inf") if latest is None else max(0.0, (now - latest).total_seconds())
        return result

    def null_rates(self) -> dict[tuple[str, str], float]:
        """Share of nulls per (view, feature) in the offline tables (what training and materialization read)."""
        from tripcast.mlops.feature_store.offline import ZONE_HOUR_TABLE, ZONE_PAIR_TABLE, table_path

        rates: dict[tuple[str, str], float] = {}
        for view, table, names in (
            (ZONE_HOUR_VIEW, ZONE_HOUR_TABLE, ZONE_HOUR_FEATURES),
            (ZONE_PAIR_VIEW, ZONE_PAIR_TABLE, ZONE_PAIR_FEATURES),
        ):
            df = pd.read_parquet(table_path(self.settings.offline_dir, table), columns=list(names))
            for name in names:
                rates[(view, name)] = float(df[name].isna().mean()) if len(df) else 0.0
        return rates

    def publish_metrics(self, registry: Any = None, now: datetime | None = None) -> None:
        """Set ``tripcast_feature_store_staleness_seconds`` and ``..._null_rate`` gauges."""
        from prometheus_client import REGISTRY, Gauge

        registry = registry if registry is not None else REGISTRY
        staleness = Gauge(
            "tripcast_feature_store_staleness_seconds", "Seconds since the latest materialized feature row",
            ["feature_view"], registry=registry,
        )  # fmt: skip
        null_rate = Gauge(
            "tripcast_feature_store_null_rate", "Share of null values per feature (offline table)",
            ["feature_view", "feature"], registry=registry,
        )  # fmt: skip
        for view, seconds in self.freshness(now).items():
            staleness.labels(feature_view=view).set(seconds)
        for (view, name), rate in self.null_rates().items():
            null_rate.labels(feature_view=view, feature=name).set(rate)

    def _latest_event(self, view: str) -> datetime | None:
        if self.settings.online_url:
            return self._latest_materialized(view)
        path = self.settings.sqlite_path
        if not path.exists():
            return None
        with sqlite3.connect(path) as conn:
            try:
                row = conn.execute(f'SELECT MAX(event_ts) FROM "{self.settings.project}_{view}"').fetchone()
            except sqlite3.OperationalError:
                return None
        if not row or row[0] is None:
            return None
        value = row[0]
        # Feast's SQLite store writes epoch seconds; older versions wrote ISO strings.
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return _utc(pd.Timestamp(value).to_pydatetime())

    def _latest_materialized(self, view: str) -> datetime | None:
        # Redis rows carry no global max; use the registry's record of the materialized range instead.
        fv = self.feast.get_feature_view(view)
        intervals = fv.materialization_intervals
        return _utc(max(end for _, end in intervals)) if intervals else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_series(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values)
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    # The offline store works in microseconds; nanosecond stamps would fail its casts.
    return stamps.dt.floor("us").astype("datetime64[us, UTC]")


def as_model_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Store features as plain float columns named without the view prefix (NaN where absent)."""
    out = pd.DataFrame(index=frame.index)
    for ref in FEATURE_REFS:
        name = ref.split(":", 1)[1]
        column = frame[name] if name in frame.columns else frame.get(ref.replace(":", "__"))
        out[name] = pd.to_numeric(column, errors="coerce").astype(np.float64) if column is not None else np.nan
    return out

"""Trip-duration features plus the feature store's zone aggregates, for training and for serving.

:class:`StoreBackedTripFeatureBuilder` wraps :class:`TripFeatureBuilder` (the 11 spine features) and
appends the five zone-level store features of ``TRIP_DURATION_WITH_STORE_SPEC``:

* **Training** (:meth:`training_set`): Feast's point-in-time join against the offline tables
  (``ZoneFeatureStore.training_frame``). A trip picked up at T only sees rows stamped at or before T,
  and a row stamped S only aggregates trips that *ended* before S, so no trip sees the future.
* **Serving** (:meth:`feature_matrix` / :meth:`features_for_requests`): the direct online reader
  (SQLite file by default, Redis when the store has a ``redis://`` URL), one read per distinct
  (pickup, dropoff) pair in the request.

Missing values are NaN, never an error and never a made-up number. A zone or pair the store has
no row for, or a row older than its view's TTL relative to the request's pickup time (1 h for the
zone view, 1 day for the pair view: the same rule Feast's join applies in training), gives NaN.
LightGBM routes NaN down each split's learned "missing" branch, and training saw the same NaNs
(~25-28 % of rows), so a cold or stale store degrades predictions towards the spine model instead
of failing requests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.trip import TripRequest
from tripcast.core.domain.trip_duration import TRIP_DURATION_WITH_STORE_SPEC
from tripcast.core.ports.learning import FeatureBuilder, TrainingSet
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder, table_digest
from tripcast.mlops.feature_store.definitions import (
    ZONE_HOUR_FEATURES,
    ZONE_HOUR_TTL,
    ZONE_PAIR_FEATURES,
    ZONE_PAIR_TTL,
)
from tripcast.mlops.feature_store.offline import TABLES, table_path
from tripcast.mlops.feature_store.store import FeatureStoreSettings, ZoneFeatureStore

log = logging.getLogger(__name__)

#: Store feature columns, in the order the spec appends them.
STORE_FEATURES: Final[tuple[str, ...]] = (*ZONE_HOUR_FEATURES, *ZONE_PAIR_FEATURES)
MATERIALIZE_HINT: Final = (
    "run `tripcast features materialize --tlc <green_tripdata_YYYY-MM.parquet> --start <date> --end <date>` "
    "(or disable TRIPCAST_FEATURE_STORE_ENABLED)"
)


class FeatureStoreNotReadyError(TripcastError):
    """The feature store has not been built/materialized, so store features cannot be computed."""


class StoreBackedTripFeatureBuilder(FeatureBuilder):
    """TRIP_DURATION_WITH_STORE_SPEC features: the spine builder's columns plus the zone-store columns."""

    spec: ModelSpec = TRIP_DURATION_WITH_STORE_SPEC
    performs_io = True  # every request reads the online store (SQLite or Redis)

    def __init__(
        self,
        store_settings: FeatureStoreSettings,
        base: TripFeatureBuilder | None = None,
        *,
        reader: Any = None,
    ) -> None:
        self.store_settings = store_settings
        self.base = base if base is not None else TripFeatureBuilder()
        self._store: ZoneFeatureStore | None = None
        self._reader = reader
        self._columns = self.spec.feature_names
        base_names = self.base.spec.feature_names
        if self._columns != [*base_names, *STORE_FEATURES]:
            raise ValueError(f"{self.spec.name} must be {self.base.spec.name} followed by {STORE_FEATURES}")
        self._hour_ttl = ZONE_HOUR_TTL.total_seconds()
        self._pair_ttl = ZONE_PAIR_TTL.total_seconds()

    # ----------------------------------------------------------------- store access (lazy: Feast is heavy)
    @property
    def store(self) -> ZoneFeatureStore:
        """The Feast store over the offline tables; FeatureStoreNotReadyError when they were never built."""
        if self._store is None:
            offline = self.store_settings.offline_dir
            missing = [t for t in TABLES if not table_path(offline, t).exists()]
            registry = self.store_settings.repo_dir / "registry.db"
            if missing or not registry.exists():
                what = f"offline tables {missing} under {offline}" if missing else f"Feast registry {registry}"
                raise FeatureStoreNotReadyError(f"feature store not materialized: no {what}; {MATERIALIZE_HINT}")
            self._store = ZoneFeatureStore(self.store_settings)
        return self._store

    @property
    def reader(self) -> Any:
        """The direct online reader; FeatureStoreNotReadyError when the online store was never materialized."""
        if self._reader is None:
            if not self.store_settings.online_url and not self.store_settings.sqlite_path.exists():
                raise FeatureStoreNotReadyError(
                    f"online feature store {self.store_settings.sqlite_path} does not exist; {MATERIALIZE_HINT}"
                )
            from tripcast.mlops.feature_store.fast_online import RedisOnlineReader, SqliteOnlineReader

            if self.store_settings.online_url:
                import redis

                client = redis.Redis.from_url(self.store_settings.online_url)
                self._reader = RedisOnlineReader(client, self.store_settings.project)
            else:
                self._reader = SqliteOnlineReader(self.store_settings.sqlite_path, self.store_settings.project)
        return self._reader

    def close(self) -> None:
        """Release the online reader's connection."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # ----------------------------------------------------------------- training path
    def training_set(self, trips: pd.DataFrame, name: str) -> TrainingSet:
        """Spine features plus store features joined point in time at each trip's pickup."""
        base = self.base.training_set(trips, name)
        store = self.store
        entities = pd.DataFrame(
            {
                "row_id": np.arange(len(trips), dtype=np.int64),
                "pickup_zone": base.features["pickup_zone"].to_numpy(),
                "dropoff_zone": base.features["dropoff_zone"].to_numpy(),
                "event_timestamp": _wall_clock(pd.to_datetime(trips["pickup_datetime"])).to_numpy(),
            }
        )
        joined = store.training_frame(entities).sort_values("row_id").reset_index(drop=True)
        if len(joined) != len(trips) or not np.array_equal(joined["row_id"].to_numpy(), entities["row_id"].to_numpy()):
            raise TripcastError(f"point-in-time join returned {len(joined)} rows for {len(trips)} trips of {name!r}")
        features = base.features.reset_index(drop=True).copy()
        for column in STORE_FEATURES:
            features[column] = pd.to_numeric(joined[column], errors="coerce").to_numpy(dtype=np.float64)
        nulls = features[list(STORE_FEATURES)].isna().mean()
        if len(features) and bool((nulls == 1.0).all()):
            raise FeatureStoreNotReadyError(
                f"the feature store's offline tables do not cover {name!r} (every store feature is empty): "
                f"materialize with that period's trips; {MATERIALIZE_HINT}"
            )
        log.info("store features for %s: null rates %s", name, nulls.round(3).to_dict())
        features = features[self._columns]
        return TrainingSet(features=features, target=base.target, name=name, digest=table_digest(features, base.target))

    # ----------------------------------------------------------------- request paths
    def features_for_requests(self, requests: Sequence[TripRequest]) -> pd.DataFrame:
        """Features for trip requests as a DataFrame in spec order (spine dtypes kept, store columns float)."""
        frame = self.base.features_for_requests(requests)
        values = self.store_values(requests)
        for j, column in enumerate(STORE_FEATURES):
            frame[column] = values[:, j]
        return frame[self._columns]

    def feature_matrix(self, requests: Sequence[TripRequest]) -> np.ndarray:
        """Features as a float64 ``(n, n_features)`` matrix: the serving hot path."""
        spine = self.base.feature_matrix(requests)
        return np.hstack([spine, self.store_values(requests)])

    def store_values(self, requests: Sequence[TripRequest]) -> np.ndarray:
        """``(n, 5)`` store features from the online store; NaN where absent or older than the view's TTL."""
        n = len(requests)
        out = np.full((n, len(STORE_FEATURES)), np.nan)
        if n == 0:
            return out
        reader = self.reader
        fetched: dict[tuple[int, int], Any] = {}
        n_hour = len(ZONE_HOUR_FEATURES)
        for i, request in enumerate(requests):
            key = (request.pickup_zone, request.dropoff_zone)
            row = fetched.get(key)
            if row is None:
                row = fetched[key] = reader.get_stamped(*key)
            at = _epoch_seconds(request.pickup_datetime)
            if _fresh(row.zone_ts, at, self._hour_ttl):
                for j, column in enumerate(ZONE_HOUR_FEATURES):
                    value = row.values[column]
                    if value is not None:
                        out[i, j] = value
            if _fresh(row.pair_ts, at, self._pair_ttl):
                for j, column in enumerate(ZONE_PAIR_FEATURES):
                    value = row.values[column]
                    if value is not None:
                        out[i, n_hour + j] = value
        return out


def store_settings_from(root: Any, online_url: str | None) -> FeatureStoreSettings:
    """The layout ``tripcast features materialize`` writes: ``<root>/repo`` and ``<root>/offline``."""
    from pathlib import Path

    base = Path(root)
    return FeatureStoreSettings(base / "repo", base / "offline", online_url)


def _fresh(stamp: float | None, at: float, ttl: float) -> bool:
    # Same rule as Feast's point-in-time join (row no older than the TTL). A row stamped after the
    # pickup is the store's latest knowledge at serving time, so it is used.
    return stamp is not None and at - stamp <= ttl


def _epoch_seconds(moment: datetime) -> float:
    # Wall-clock pickup time read as UTC, exactly as training stamps trips (TLC times are naive wall clock).
    naive = moment.replace(tzinfo=None)
    return naive.replace(tzinfo=UTC).timestamp()


def _wall_clock(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_localize(None) if getattr(stamps.dt, "tz", None) is not None else stamps

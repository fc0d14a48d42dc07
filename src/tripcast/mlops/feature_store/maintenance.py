"""The zone feature store behind the :class:`~tripcast.core.ports.features.ZoneFeatureMaintenance` port."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.ports.features import ZoneFeatureMaintenance
from tripcast.mlops.feature_store.offline import build_tables_from_trips, collect_pipeline_tables
from tripcast.mlops.feature_store.store import ZoneFeatureStore

#: Feature view -> offline table it is served from.
VIEW_TABLES = {"zone_hour_stats": "zone_hour", "zone_pair_stats": "zone_pair"}


class FeastZoneMaintenance(ZoneFeatureMaintenance):
    """Offline tables from trips (or the pipeline's output), materialized by Feast.

    ``validated_tlc`` turns a raw TLC file into its valid trips (injected: this module knows no taxi schema).
    """

    def __init__(
        self,
        store: ZoneFeatureStore,
        *,
        data_dir: Path,
        processed_path: Path,
        service: str,
        validated_tlc: Callable[[Path], pd.DataFrame],
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.processed_path = processed_path
        self.service = service
        self.validated_tlc = validated_tlc

    def build_offline_tables(self, trips: list[str], tlc: list[str]) -> tuple[dict[str, int], list[str]]:
        offline_dir = self.store.settings.offline_dir
        notes: list[str] = []
        if trips or tlc:
            frames = [pd.read_parquet(p) for p in trips] + [self.validated_tlc(Path(p)) for p in tlc]
            paths = build_tables_from_trips(pd.concat(frames, ignore_index=True), offline_dir)
        else:
            try:
                paths = collect_pipeline_tables(self.data_dir, offline_dir, self.service)
            except NotFoundError:
                processed = sorted(self.processed_path.glob(f"{self.service}_tripdata_*.parquet"))
                if not processed:
                    raise
                notes.append(f"no pipeline output; using the validated months in {self.processed_path}")
                frames = [pd.read_parquet(p) for p in processed]
                paths = build_tables_from_trips(pd.concat(frames, ignore_index=True), offline_dir)
        rows = {
            view: len(pd.read_parquet(paths[table], columns=["pickup_zone"])) for view, table in VIEW_TABLES.items()
        }
        return rows, notes

    def materialize(self, start: datetime, end: datetime) -> None:
        self.store.materialize(start, end)

    def freshness(self, at: datetime) -> dict[str, float]:
        return {view: float(seconds) for view, seconds in self.store.freshness(at).items()}

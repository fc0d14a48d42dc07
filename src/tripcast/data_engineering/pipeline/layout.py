"""Where the pipeline puts things under ``Settings.data_dir``: hive-style ``month=YYYY-MM`` partitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tripcast.core.domain.month import Month
from tripcast.settings import Settings

#: Feature tables the transform step writes, each partitioned by month.
FEATURE_TABLES = ("trips_enriched", "zone_hour", "zone_pair")


@dataclass(frozen=True)
class Layout:
    """Paths of one service's pipeline outputs."""

    data_dir: Path
    service: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        return cls(settings.data_dir, settings.service)

    def feature_partition(self, table: str, month: Month) -> Path:
        """``<data>/features/<table>/service=<s>/month=<YYYY-MM>``: one folder of parquet part files."""
        return self.data_dir / "features" / table / f"service={self.service}" / f"month={month}"

    def feature_table(self, table: str) -> Path:
        return self.data_dir / "features" / table

    def manifest(self, month: Month) -> Path:
        return self.data_dir / "pipeline" / f"{self.service}_{month}.json"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def lineage_dir(self) -> Path:
        return self.data_dir / "lineage"

    @property
    def metrics_dir(self) -> Path:
        return self.data_dir / "metrics"

"""The TLC taxi zone lookup: zone id -> borough, zone name, service zone.

A copy of TLC's ``taxi+_zone_lookup.csv`` ships inside the package so that
feature building and serving work offline. Zone names include the literal
strings ``NA`` and ``N/A``; they are read with ``keep_default_na=False`` so they
stay strings instead of turning into NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

ZONE_COLUMNS = ("LocationID", "Borough", "Zone", "service_zone")


@dataclass(frozen=True)
class ZoneLookup:
    """Zone attributes by id, with stable integer codes for the categorical ones."""

    table: pd.DataFrame

    @classmethod
    def from_csv(cls, path: str | Path) -> ZoneLookup:
        """Read a TLC zone lookup CSV, keeping ``NA``/``N/A`` as strings."""
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
        missing = [c for c in ZONE_COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidInputError([FieldProblem(str(path), f"zone lookup lacks columns {missing}")])
        frame["LocationID"] = frame["LocationID"].astype("int32")
        if frame["LocationID"].duplicated().any():
            dupes = frame.loc[frame["LocationID"].duplicated(), "LocationID"].tolist()
            raise InvalidInputError([FieldProblem("LocationID", f"duplicate zone ids {dupes[:5]}")])
        return cls(frame.set_index("LocationID").sort_index())

    @classmethod
    def bundled(cls) -> ZoneLookup:
        """The zone lookup shipped with the package."""
        return _bundled_lookup()

    @property
    def zone_ids(self) -> list[int]:
        return [int(i) for i in self.table.index]

    def borough_codes(self) -> dict[str, int]:
        """Borough name -> integer code, sorted by name so codes are stable across runs."""
        return {name: code for code, name in enumerate(sorted(self.table["Borough"].unique()))}

    def service_zone_codes(self) -> dict[str, int]:
        """Service zone name -> integer code, sorted by name."""
        return {name: code for code, name in enumerate(sorted(self.table["service_zone"].unique()))}

    def zone_attribute_codes(self) -> pd.DataFrame:
        """Per zone id: ``borough_code`` and ``service_zone_code`` integer columns."""
        boroughs = self.borough_codes()
        services = self.service_zone_codes()
        return pd.DataFrame(
            {
                "borough_code": self.table["Borough"].map(boroughs).astype("int32"),
                "service_zone_code": self.table["service_zone"].map(services).astype("int32"),
            },
            index=self.table.index,
        )

    def borough(self, zone_id: int) -> str:
        """The borough of a zone id; ``Unknown`` for an id the table lacks."""
        return str(self.table["Borough"].get(zone_id, "Unknown"))

    def name(self, zone_id: int) -> str:
        """A readable label such as ``Manhattan / East Harlem North``."""
        row = self.table.loc[zone_id]
        return f"{row['Borough']} / {row['Zone']}"


@lru_cache(maxsize=1)
def _bundled_lookup() -> ZoneLookup:
    with resources.as_file(resources.files(__package__) / "taxi_zone_lookup.csv") as path:
        return ZoneLookup.from_csv(path)

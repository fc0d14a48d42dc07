"""Enrichment: attach borough, zone name and service zone of both trip ends from the TLC zone lookup."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from tripcast.data_engineering.tlc.zones import ZoneLookup

ENRICHED_COLUMNS = (
    "pickup_borough",
    "pickup_zone_name",
    "pickup_service_zone",
    "dropoff_borough",
    "dropoff_zone_name",
    "dropoff_service_zone",
)

#: The name columns of :func:`zone_frame` (everything but ``zone_id``).
ZONE_NAME_COLUMNS = ("borough", "zone_name", "service_zone")


def zone_frame(zones: ZoneLookup | None = None) -> pd.DataFrame:
    """The zone lookup as a flat frame: ``zone_id, borough, zone_name, service_zone``."""
    table = (zones or ZoneLookup.bundled()).table
    return pd.DataFrame(
        {
            "zone_id": table.index.astype("int32"),
            "borough": table["Borough"].astype(str).to_numpy(),
            "zone_name": table["Zone"].astype(str).to_numpy(),
            "service_zone": table["service_zone"].astype(str).to_numpy(),
        }
    )


def enrich_with_zones(t: ir.Table, zones: ir.Table) -> ir.Table:
    """Left-join the zone table (:func:`zones_table` or :meth:`Engine.zone_table`) on pickup and dropoff zone.

    A left join keeps every trip: an unknown zone yields null attributes, which the
    referential-integrity quality check reports, instead of a silently dropped row.
    """
    pickup = zones.select(
        pu_id=zones.zone_id,
        pickup_borough=zones.borough,
        pickup_zone_name=zones.zone_name,
        pickup_service_zone=zones.service_zone,
    )
    dropoff = zones.select(
        do_id=zones.zone_id,
        dropoff_borough=zones.borough,
        dropoff_zone_name=zones.zone_name,
        dropoff_service_zone=zones.service_zone,
    )
    joined = t.left_join(pickup, t.pickup_zone == pickup.pu_id).left_join(dropoff, t.dropoff_zone == dropoff.do_id)
    return joined.drop("pu_id", "do_id")


def zones_table(zones: ZoneLookup | None = None) -> ir.Table:
    """The zone lookup as an in-memory Ibis table; any engine registers it on execution."""
    return ibis.memtable(zone_frame(zones))

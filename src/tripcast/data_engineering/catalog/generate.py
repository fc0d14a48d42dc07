"""The data catalog, generated from the Pandera schemas (the single source of truth) and the Ibis feature plans.

:func:`render_catalog` turns :data:`~tripcast.data_engineering.tlc.validation.TRIP_SCHEMA` and
``PROCESSED_TRIP_SCHEMA`` into JSON Schema (draft 2020-12) documents for one record, plus the
schemas of the feature tables (taken from the Ibis expressions that build them), and a
markdown data dictionary. :func:`write_catalog` writes them to a folder (``tripcast pipeline catalog
--out DIR``, default the ``catalog_dir`` setting; the repository keeps them under ``data_engineering/catalog/``);
a test fails when the committed files differ from what the code would generate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ibis
import pandera.pandas as pa

from tripcast.core.domain.month import Month
from tripcast.core.ports.pipeline import DataCatalog
from tripcast.data_engineering.tlc.schema import CANONICAL_DTYPES
from tripcast.data_engineering.tlc.validation import PROCESSED_TRIP_SCHEMA, TRIP_SCHEMA
from tripcast.data_engineering.transformation.plan import transform_trips

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://tripcast.dev/catalog/schemas"

#: What each feature column means (the Ibis plan gives names and types; people need the semantics).
FEATURE_DOCS: dict[str, str] = {
    "feature_timestamp": "When the feature row becomes usable; built only from trips that ended before it",
    "zone_trips_1h": "Trips from this pickup zone that ended in the hour before feature_timestamp",
    "zone_median_duration_1h": "Median duration (minutes) of those trips",
    "zone_mean_speed_1h": "Mean speed (mph) of those trips",
    "pair_trips_7d": "Trips between the two zones that ended in the 7 days before feature_timestamp",
    "pair_median_duration_7d": "Median duration (minutes) of those trips",
    "pickup_date": "Pickup calendar day",
    "pickup_hour": "Pickup hour of day, 0-23",
    "pickup_day_of_week": "Pickup weekday, 0 = Monday .. 6 = Sunday",
    "pickup_month": "Pickup month number, 1-12",
    "is_weekend": "Pickup on Saturday or Sunday",
    "avg_speed_mph": "trip_distance / duration (mph)",
    "pickup_borough": "Borough of the pickup zone (TLC zone lookup)",
    "pickup_zone_name": "Name of the pickup zone",
    "pickup_service_zone": "Service zone of the pickup zone (Boro Zone, Yellow Zone, Airports, EWR, N/A)",
    "dropoff_borough": "Borough of the dropoff zone",
    "dropoff_zone_name": "Name of the dropoff zone",
    "dropoff_service_zone": "Service zone of the dropoff zone",
}


def _json_type(dtype: str) -> dict[str, Any]:
    if dtype.startswith("datetime64") or dtype.startswith("timestamp"):
        return {"type": "string", "format": "date-time"}
    if dtype.lower().startswith(("int", "uint")):
        return {"type": "integer"}
    if dtype.startswith(("float", "decimal")):
        return {"type": "number"}
    if dtype in {"bool", "boolean"}:
        return {"type": "boolean"}
    if dtype == "date":
        return {"type": "string", "format": "date"}
    return {"type": "string"}


def _check_keywords(check: pa.Check) -> tuple[dict[str, Any], str]:
    """JSON Schema keywords for a Pandera column check, and a human-readable rule."""
    stats = check.statistics or {}
    reason = f" (quarantine reason `{check.error}`)" if check.error and " " not in str(check.error) else ""
    if check.name == "isin":
        values = list(stats["allowed_values"])
        if (
            len(values) > 10
            and all(isinstance(v, int) for v in values)
            and values == list(range(values[0], values[-1] + 1))
        ):
            return {"minimum": values[0], "maximum": values[-1]}, f"one of {values[0]}..{values[-1]}{reason}"
        return {"enum": values}, f"one of {', '.join(map(str, values))}{reason}"
    if check.name in {"greater_than_or_equal_to", "ge"}:
        return {"minimum": stats["min_value"]}, f">= {stats['min_value']:g}{reason}"
    if check.name in {"less_than_or_equal_to", "le"}:
        return {"maximum": stats["max_value"]}, f"<= {stats['max_value']:g}{reason}"
    if check.name == "in_range":
        return (
            {"minimum": stats["min_value"], "maximum": stats["max_value"]},
            f"{stats['min_value']:g}..{stats['max_value']:g}{reason}",
        )
    return {}, f"{check.name} {stats}{reason}".strip()


def pandera_to_json_schema(schema: pa.DataFrameSchema, name: str) -> dict[str, Any]:
    """A JSON Schema for one record (row) of ``schema``: types, nullability, bounds, titles, descriptions."""
    properties: dict[str, Any] = {}
    for column, spec in schema.columns.items():
        prop: dict[str, Any] = {"title": spec.title or column}
        if spec.description:
            prop["description"] = spec.description
        typed = _json_type(str(CANONICAL_DTYPES.get(column, spec.dtype)))
        if spec.nullable:
            typed["type"] = [typed["type"], "null"]
        prop.update(typed)
        prop["x-pandas-dtype"] = str(CANONICAL_DTYPES.get(column, spec.dtype))
        for check in spec.checks:
            keywords, _ = _check_keywords(check)
            prop.update(keywords)
        properties[column] = prop
    rules = [
        {"check": check.name, "quarantine_reason": check.error, "parameters": check.statistics or {}}
        for check in schema.checks
    ]
    return {
        "$schema": SCHEMA_URI,
        "$id": f"{ID_BASE}/{name}.schema.json",
        "title": schema.title or name,
        "description": schema.description or "",
        "type": "object",
        "properties": properties,
        "required": list(schema.columns),
        "additionalProperties": not schema.strict,
        "x-row-rules": rules,
    }


def feature_table_schemas() -> dict[str, dict[str, str]]:
    """Column -> Ibis type of each feature table, read off the Ibis plan (no data is touched)."""
    empty = ibis.table({c: _ibis_type(t) for c, t in CANONICAL_DTYPES.items()}, name="canonical_trips")
    plan = transform_trips(empty, Month(2021, 1))
    tables = {"trips_enriched": plan.trips, "zone_hour": plan.zone_hour, "zone_pair": plan.zone_pair}
    return {name: {c: str(t) for c, t in expr.schema().items()} for name, expr in tables.items()}


def _ibis_type(dtype: str) -> str:
    return {"string": "string", "Int32": "int32", "float64": "float64"}.get(dtype, "timestamp")


def feature_json_schema(name: str, columns: dict[str, str]) -> dict[str, Any]:
    props = {}
    for column, dtype in columns.items():
        prop = _json_type(dtype.lstrip("!"))
        nullable = not dtype.startswith("!")
        if nullable:
            prop["type"] = [prop["type"], "null"]
        description = FEATURE_DOCS.get(column) or _canonical_description(column)
        props[column] = {"description": description, **prop, "x-ibis-type": dtype}
    return {
        "$schema": SCHEMA_URI,
        "$id": f"{ID_BASE}/features_{name}.schema.json",
        "title": f"Feature table {name}",
        "description": "Written by the transform step under data/features/" + name + "/service=<s>/month=<YYYY-MM>/",
        "type": "object",
        "properties": props,
        "required": list(columns),
        "additionalProperties": False,
    }


def _canonical_description(column: str) -> str:
    spec = PROCESSED_TRIP_SCHEMA.columns.get(column)
    return (spec.description or spec.title or column) if spec is not None else column


def data_dictionary(schemas: dict[str, dict[str, Any]]) -> str:
    """Markdown: one table per dataset, then the row rules with their quarantine reasons."""
    lines = [
        "# Data dictionary",
        "",
        "Generated by `tripcast pipeline catalog --out data_engineering/catalog` from the Pandera `TRIP_SCHEMA` /",
        "`PROCESSED_TRIP_SCHEMA` and the Ibis feature plans. Do not edit by hand: a test fails when it is stale.",
        "",
    ]
    for name, schema in schemas.items():
        lines += [f"## {name}", "", schema.get("description", ""), ""]
        lines += ["| column | type | nullable | rule | description |", "| --- | --- | --- | --- | --- |"]
        required_rules = _rules_by_column(name)
        for column, prop in schema["properties"].items():
            types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            base = next(t for t in types if t != "null") + (f" ({prop['format']})" if "format" in prop else "")
            nullable = "yes" if "null" in types else "no"
            rule = required_rules.get(column, "")
            description = prop.get("description", "").replace("|", "\\|")
            lines.append(f"| `{column}` | {base} | {nullable} | {rule} | {description} |")
        lines.append("")
        if schema.get("x-row-rules"):
            lines += ["Row rules (a row breaking one is quarantined with the reason shown):", ""]
            lines += [
                f"- `{r['quarantine_reason']}` ({r['check']}, {r['parameters'] or 'no parameters'})"
                for r in schema["x-row-rules"]
            ]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _rules_by_column(name: str) -> dict[str, str]:
    schema = {"trips": TRIP_SCHEMA, "processed_trips": PROCESSED_TRIP_SCHEMA}.get(name)
    if schema is None:
        return {}
    rules = {}
    for column, spec in schema.columns.items():
        texts = [_check_keywords(check)[1] for check in spec.checks]
        rules[column] = "; ".join(t.replace("|", "\\|") for t in texts)
    return rules


def render_catalog() -> dict[str, str]:
    """Relative file path -> content of every catalog file."""
    schemas = {
        "trips": pandera_to_json_schema(TRIP_SCHEMA, "trips"),
        "processed_trips": pandera_to_json_schema(PROCESSED_TRIP_SCHEMA, "processed_trips"),
    }
    for name, columns in feature_table_schemas().items():
        schemas[f"features_{name}"] = feature_json_schema(name, columns)
    files = {f"schemas/{name}.schema.json": json.dumps(s, indent=2, default=str) + "\n" for name, s in schemas.items()}
    files["data_dictionary.md"] = data_dictionary(schemas)
    return files


def write_catalog(directory: Path) -> list[Path]:
    """Write every catalog file under ``directory``; return their paths."""
    written = []
    for relative, content in render_catalog().items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written


def stale_catalog_files(directory: Path) -> list[str]:
    """Catalog files that are missing or differ from what the code generates now."""
    return [
        relative
        for relative, content in render_catalog().items()
        if not (directory / relative).is_file() or (directory / relative).read_text() != content
    ]


class CatalogWriter(DataCatalog):
    """Writes the catalog to a folder given by the caller or by the ``catalog_dir`` setting (never next to
    the installed package: from a wheel that would be site-packages)."""

    def __init__(self, default_directory: Path) -> None:
        self._default = default_directory

    def write(self, directory: Path | None = None) -> list[Path]:
        """Write every catalog file under ``directory`` (default: the configured folder); return their paths."""
        return write_catalog(directory if directory is not None else self._default)

"""The catalog is generated from the Pandera TRIP_SCHEMA and the committed files are up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from jsonschema import Draft202012Validator

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.catalog import CatalogWriter, render_catalog, stale_catalog_files
from tripcast.data_engineering.tlc.validation import PROCESSED_TRIP_SCHEMA, PanderaTripValidator

#: The repository's committed copy of the catalog.
CATALOG_DIR = Path(__file__).resolve().parents[3] / "data_engineering" / "catalog"


def test_committed_catalog_is_up_to_date():
    stale = stale_catalog_files(CATALOG_DIR)
    assert stale == [], (
        f"catalog files out of date: {stale}; "
        "regenerate with `tripcast pipeline catalog --out data_engineering/catalog`"
    )
    assert (CATALOG_DIR / "data_dictionary.md").is_file()


def test_catalog_writer_writes_to_the_given_folder_or_the_configured_one(tmp_path: Path) -> None:
    configured, given = tmp_path / "configured", tmp_path / "given"
    writer = CatalogWriter(configured)
    written = writer.write(given)
    assert written and all(path.is_relative_to(given) for path in written)
    assert stale_catalog_files(given) == []
    assert not configured.exists()
    assert {p.relative_to(configured) for p in writer.write()} == {p.relative_to(given) for p in written}


def test_json_schema_follows_the_pandera_schema():
    schema = json.loads(render_catalog()["schemas/processed_trips.schema.json"])
    Draft202012Validator.check_schema(schema)
    assert list(schema["properties"]) == list(PROCESSED_TRIP_SCHEMA.columns)
    assert schema["properties"]["pickup_zone"]["minimum"] == 1
    assert schema["properties"]["pickup_zone"]["maximum"] == 265
    assert schema["properties"]["trip_distance"]["maximum"] == 100.0
    assert schema["properties"]["passenger_count"]["type"] == ["integer", "null"]
    assert schema["properties"]["pickup_datetime"]["type"] == "string"


def test_real_valid_rows_satisfy_the_json_schema_and_bad_ones_do_not(january_canonical):
    outcome = PanderaTripValidator().split(RawDataset(pd.read_parquet(january_canonical), Month(2021, 1), "t"))
    rows = json.loads(outcome.valid.head(300).to_json(orient="records", date_format="iso"))
    validator = Draft202012Validator(json.loads(render_catalog()["schemas/processed_trips.schema.json"]))
    assert [list(validator.iter_errors(row)) for row in rows] == [[]] * len(rows)
    bad = {**rows[0], "pickup_zone": 999, "trip_distance": -1.0, "unexpected": 1}
    messages = sorted(e.json_path for e in validator.iter_errors(bad))
    assert messages == ["$", "$.pickup_zone", "$.trip_distance"]


def test_feature_schemas_come_from_the_ibis_plan():
    zone_pair = json.loads(render_catalog()["schemas/features_zone_pair.schema.json"])
    assert list(zone_pair["properties"]) == [
        "pickup_zone",
        "dropoff_zone",
        "feature_timestamp",
        "pair_trips_7d",
        "pair_median_duration_7d",
    ]
    assert "ended before" in zone_pair["properties"]["feature_timestamp"]["description"]
    dictionary = render_catalog()["data_dictionary.md"]
    assert "`unknown_pickup_zone`" in dictionary and "## features_zone_hour" in dictionary
    # A generated project spells the product's title one way in prose (.md), another in code, so the catalog's
    # text never names it (the lower-case package name renames alike everywhere).
    assert all("Tripcast" not in text for text in render_catalog().values())


def test_cli_writes_the_catalog_to_out_or_to_the_catalog_dir_setting(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from tripcast.cli.app import app

    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIPCAST_CATALOG_DIR", str(tmp_path / "configured"))
    given = CliRunner().invoke(app, ["pipeline", "catalog", "--out", str(tmp_path / "given")])
    assert given.exit_code == 0, given.output
    assert stale_catalog_files(tmp_path / "given") == []
    configured = CliRunner().invoke(app, ["pipeline", "catalog"])
    assert configured.exit_code == 0, configured.output
    assert stale_catalog_files(tmp_path / "configured") == []

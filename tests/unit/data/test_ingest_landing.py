"""The parquet landing store: atomic month files the TLC loader reads, appends for streams, nothing on abort."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tripcast.core.domain.month import Month
from tripcast.data_engineering.ingestion.landing import ParquetLandingStore
from tripcast.data_engineering.ingestion.records import records_to_trips
from tripcast.data_engineering.tlc.download import file_sha256, read_sidecar
from tripcast.data_engineering.tlc.files import read_tlc_file

JAN = Month(2021, 1)


def _trips(pickups: list[str | None], distances: list[object] | None = None) -> pd.DataFrame:
    distances = distances or [1.5] * len(pickups)
    return records_to_trips(
        [
            {"PULocationID": 74, "DOLocationID": 75, "lpep_pickup_datetime": p, "trip_distance": d}
            for p, d in zip(pickups, distances, strict=True)
        ]
    )


@pytest.fixture()
def landing(tmp_path) -> ParquetLandingStore:
    return ParquetLandingStore(tmp_path / "raw", tmp_path / "quarantine" / "ingest")


def test_nothing_is_visible_until_commit_then_the_tlc_loader_reads_the_file(landing, tmp_path):
    assert landing.write(JAN, _trips(["2021-01-05 08:00", "2021-01-06 09:00"])) == []
    assert landing.write(JAN, _trips(["2021-01-07 10:00"])) == []
    dest = tmp_path / "raw" / "green_tripdata_2021-01.parquet"
    assert not dest.exists()

    (landed,) = landing.commit()

    assert (landed.month, landed.path, landed.rows, landed.total_rows) == (JAN, str(dest), 3, 3)
    assert read_sidecar(dest) == file_sha256(dest)
    trips = read_tlc_file(dest, "green")
    assert trips.pickup_zone.tolist() == [74, 74, 74] and str(trips.pickup_datetime.dtype) == "datetime64[us]"
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [dest.name, dest.name + ".sha256"]


def test_abort_leaves_the_landed_file_as_it_was_and_no_temporary_file(landing, tmp_path):
    landing.write(JAN, _trips(["2021-01-05 08:00"]))
    landing.commit()
    dest = tmp_path / "raw" / "green_tripdata_2021-01.parquet"
    before = dest.read_bytes()
    landing.write(JAN, _trips(["2021-01-05 08:00"] * 5))
    landing.abort()
    assert dest.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [dest.name, dest.name + ".sha256"]


def test_without_a_month_trips_go_to_their_pickup_month_and_append_to_what_landed(landing):
    landing.write(None, _trips(["2021-01-05 08:00", "2021-02-01 00:10"]))
    landing.commit()
    rejected = landing.write(None, _trips(["2021-01-09 08:00", None, "1970-01-01 00:00"]))
    (january,) = landing.commit()
    assert (january.month, january.rows, january.total_rows) == (JAN, 1, 2)
    assert [(r.record_id, r.reason) for r in rejected] == [
        ("record 3", "missing_pickup_datetime"),
        ("record 4", "pickup_month_unsupported"),
    ]


def test_a_value_that_cannot_be_cast_rejects_its_row_with_the_validators_reason(landing):
    rejected = landing.write(JAN, _trips(["2021-01-05 08:00"] * 3, [1.0, "abc", 3.0]))
    (landed,) = landing.commit()
    assert landed.rows == 2
    assert [(r.record_id, r.reason) for r in rejected] == [("record 1", "wrong_type_trip_distance")]


def test_rejected_records_are_kept_as_json_lines(landing, tmp_path):
    from tripcast.core.ports.ingest import RejectedRecord

    path = landing.save_rejected("redis://x#trips", [RejectedRecord("1-0", "JSONDecodeError: x")])
    assert path.startswith(str(tmp_path / "quarantine" / "ingest"))
    assert json.loads(Path(path).read_text()) == {
        "source": "redis://x#trips",
        "record_id": "1-0",
        "reason": "JSONDecodeError: x",
    }


def test_a_month_file_it_did_not_land_is_never_replaced_or_appended_to(landing, tmp_path):
    from tripcast.data_engineering.ingestion.landing import LandingRefusedError

    tlc_file = tmp_path / "raw" / "green_tripdata_2021-01.parquet"
    tlc_file.parent.mkdir(parents=True)
    pd.DataFrame({"lpep_pickup_datetime": [pd.Timestamp("2021-01-05")]}).to_parquet(tlc_file)
    before = tlc_file.read_bytes()
    for month in (JAN, None):
        with pytest.raises(LandingRefusedError, match="was not landed by `tripcast ingest"):
            landing.write(month, _trips(["2021-01-05 08:00"]))
        landing.abort()
    assert tlc_file.read_bytes() == before
    assert sorted(p.name for p in tlc_file.parent.iterdir()) == [tlc_file.name]

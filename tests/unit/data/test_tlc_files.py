"""Reading TLC files of every shape into the canonical schema, and refusing broken ones clearly."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tlc_rows import green_rows

from tripcast.core.domain.errors import InvalidInputError, TripcastError
from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.casting import CAST_FAILURES_ATTR, conform
from tripcast.data_engineering.tlc.files import (
    TlcFileError,
    month_from_file_name,
    read_tlc_file,
    service_from_file_name,
    tlc_file_name,
)
from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES


def _assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == CANONICAL_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == CANONICAL_DTYPES


def test_file_names_round_trip() -> None:
    assert tlc_file_name("green", Month(2021, 1)) == "green_tripdata_2021-01.parquet"
    assert tlc_file_name("yellow", "2023-02", ext="csv.gz") == "yellow_tripdata_2023-02.csv.gz"
    assert month_from_file_name("/x/green_tripdata_2021-03.parquet") == Month(2021, 3)
    assert month_from_file_name("yellow_tripdata_2023-11.csv.gz") == Month(2023, 11)
    assert month_from_file_name("trips.parquet") is None
    assert month_from_file_name("green_tripdata_2021-13.parquet") is None
    assert service_from_file_name("yellow_tripdata_2023-11.csv") == "yellow"


def test_months_before_2019_are_refused_on_the_month_field() -> None:
    with pytest.raises(InvalidInputError) as info:
        tlc_file_name("green", Month(2018, 12))
    assert info.value.problems[0].field == "month"
    assert "TLC schema supported from 2019-01" in str(info.value)


def test_unknown_service_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        tlc_file_name("purple", Month(2021, 1))
    assert info.value.problems[0].field == "service"


def test_green_2021_parquet_is_cast_to_canonical(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2021-01.parquet"
    green_rows(4).to_parquet(path, index=False)
    frame = read_tlc_file(path)
    _assert_canonical(frame)
    assert len(frame) == 4
    assert set(frame["service"]) == {"green"}
    assert frame["pickup_zone"].tolist() == [74] * 4
    assert frame["airport_fee"].isna().all()  # absent optional column added as nulls
    assert frame.attrs[CAST_FAILURES_ATTR] == {}


def test_2023_style_file_int32_ids_int_counts_and_airport_fee(tmp_path: Path) -> None:
    """From 2023-02 TLC writes int32 location ids, int64 counts and ``Airport_fee``."""
    table = green_rows(3)
    table["PULocationID"] = table["PULocationID"].astype("int32")
    table["DOLocationID"] = table["DOLocationID"].astype("int32")
    table["passenger_count"] = pd.Series([1, 2, None], dtype="Int64")
    table["RatecodeID"] = pd.Series([1, 1, 5], dtype="int64")
    table["payment_type"] = pd.Series([1, 2, 1], dtype="int64")
    table["Airport_fee"] = [0.0, 1.25, None]
    table = table.drop(columns=["ehail_fee"])
    path = tmp_path / "green_tripdata_2023-02.parquet"
    table.to_parquet(path, index=False)
    assert pq.read_schema(path).field("PULocationID").type == pa.int32()

    frame = read_tlc_file(path)
    _assert_canonical(frame)
    assert frame["passenger_count"].tolist()[:2] == [1, 2]
    assert frame["passenger_count"].isna().tolist() == [False, False, True]
    assert frame["ratecode_id"].tolist() == [1, 1, 5]
    assert frame["airport_fee"].tolist()[:2] == [0.0, 1.25]
    assert frame.attrs[CAST_FAILURES_ATTR] == {}


def test_yellow_file_detected_from_tpep_columns(tmp_path: Path) -> None:
    table = green_rows(2).rename(
        columns={"lpep_pickup_datetime": "tpep_pickup_datetime", "lpep_dropoff_datetime": "tpep_dropoff_datetime"}
    )
    table = table.drop(columns=["ehail_fee", "trip_type"])
    table["airport_fee"] = [0.0, 1.25]
    path = tmp_path / "some_export.parquet"
    table.to_parquet(path, index=False)
    frame = read_tlc_file(path)
    _assert_canonical(frame)
    assert set(frame["service"]) == {"yellow"}
    assert frame["trip_type"].isna().all()
    assert frame["pickup_datetime"].iloc[0] == table["tpep_pickup_datetime"].iloc[0]


def test_service_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2021-01.parquet"
    green_rows(1).to_parquet(path, index=False)
    with pytest.raises(TlcFileError, match="asked for yellow"):
        read_tlc_file(path, service="yellow")


def test_service_from_file_name_when_columns_do_not_say(tmp_path: Path) -> None:
    canonical = conform(green_rows(2)).drop(columns=["service"])
    path = tmp_path / "yellow_tripdata_2021-01.parquet"
    canonical.to_parquet(path, index=False)
    assert set(read_tlc_file(path)["service"]) == {"yellow"}
    anonymous = tmp_path / "trips.parquet"
    canonical.to_parquet(anonymous, index=False)
    with pytest.raises(TlcFileError, match="cannot tell green from yellow"):
        read_tlc_file(anonymous)
    assert set(read_tlc_file(anonymous, service="green")["service"]) == {"green"}


CSV_TEXT = (
    '"VendorID","lpep_pickup_datetime","lpep_dropoff_datetime","store_and_fwd_flag","RatecodeID",'
    '"PULocationID","DOLocationID","passenger_count","trip_distance","fare_amount","extra","mta_tax",'
    '"tip_amount","tolls_amount","ehail_fee","improvement_surcharge","total_amount","payment_type",'
    '"trip_type","congestion_surcharge"\r\n'
    '"2","2019-01-01 00:10:16","2019-01-01 00:16:32","N","1","97","49","2","0.86","6","0.5","0.5",'
    '"0","0","","0.3","7.3","2","1","0"\r\n'
    '"1","2019-01-01 00:27:11","2019-01-01 00:31:38","N","1","49","189","1","0.66","4.5","0.5","0.5",'
    '"0","0","","0.3","5.8","1","1","0"\r\n'
    '"2","2019-01-01 01:00:00","2019-01-01 01:20:00","","","264","264","","1.5","10","0","0",'
    '"0","0","","0.3","10.3","","",""\r\n'
)


def test_csv_with_quoted_fields(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2019-01.csv"
    path.write_text(CSV_TEXT, encoding="utf-8", newline="")
    frame = read_tlc_file(path)
    _assert_canonical(frame)
    assert frame["pickup_zone"].tolist() == [97, 49, 264]
    assert frame["pickup_datetime"].iloc[1] == pd.Timestamp("2019-01-01 00:27:11")
    assert frame["trip_distance"].tolist() == [0.86, 0.66, 1.5]
    assert frame["passenger_count"].isna().tolist() == [False, False, True]
    assert frame["store_and_fwd_flag"].isna().tolist() == [False, False, True]
    assert frame.attrs[CAST_FAILURES_ATTR] == {}


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2019-01.csv.gz"
    path.write_bytes(gzip.compress(CSV_TEXT.encode()))
    frame = read_tlc_file(path)
    _assert_canonical(frame)
    assert len(frame) == 3


def test_fractional_value_in_integer_column_becomes_null_and_is_recorded(tmp_path: Path) -> None:
    table = green_rows(3)
    table["passenger_count"] = [1.0, 1.5, np.nan]
    table["PULocationID"] = pd.Series([74.0, 3e10, 41.0])
    path = tmp_path / "green_tripdata_2021-01.parquet"
    table.to_parquet(path, index=False)
    frame = read_tlc_file(path)
    assert frame["passenger_count"].isna().tolist() == [False, True, True]
    assert frame["pickup_zone"].isna().tolist() == [False, True, False]
    # Only the value that was there and got lost is a failure; the real null is just a null.
    assert frame.attrs[CAST_FAILURES_ATTR] == {"pickup_zone": [1], "passenger_count": [1]}


def test_unparseable_csv_values_are_recorded(tmp_path: Path) -> None:
    text = CSV_TEXT.replace('"0.86"', '"abc"').replace('"2019-01-01 00:27:11"', '"not a time"')
    path = tmp_path / "green_tripdata_2019-01.csv"
    path.write_text(text, encoding="utf-8")
    frame = read_tlc_file(path)
    assert frame.attrs[CAST_FAILURES_ATTR] == {"pickup_datetime": [1], "trip_distance": [0]}
    assert pd.isna(frame["trip_distance"].iloc[0])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TlcFileError, match="file not found"):
        read_tlc_file(tmp_path / "green_tripdata_2021-01.parquet")


def test_truncated_parquet_is_a_tlc_file_error(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    green_rows(50).to_parquet(whole, index=False)
    truncated = tmp_path / "green_tripdata_2021-01.parquet"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(TlcFileError) as info:
        read_tlc_file(truncated)
    assert str(truncated) in str(info.value)
    assert "truncated or corrupt parquet" in str(info.value)
    assert isinstance(info.value, TripcastError)


def test_garbage_csv_gz_is_a_tlc_file_error(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2019-01.csv.gz"
    path.write_bytes(b"\x1f\x8b this is not gzip at all")
    with pytest.raises(TlcFileError, match="unreadable CSV"):
        read_tlc_file(path)


def test_empty_csv_is_a_tlc_file_error(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2019-01.csv"
    path.write_text("")
    with pytest.raises(TlcFileError, match="empty CSV"):
        read_tlc_file(path)


def test_wrong_columns_name_the_file_and_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2021-01.parquet"
    green_rows(2).drop(columns=["trip_distance", "DOLocationID"]).to_parquet(path, index=False)
    with pytest.raises(TlcFileError) as info:
        read_tlc_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "trip_distance" in message and "dropoff_zone" in message
    assert "pickup_zone" not in message.split("(found")[0]


def test_unrelated_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "green_tripdata_2021-01.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(TlcFileError, match=r"missing required columns \['pickup_datetime'"):
        read_tlc_file(path)


def test_timezone_aware_timestamps_become_new_york_local(tmp_path: Path) -> None:
    table = green_rows(1)
    table["lpep_pickup_datetime"] = pd.Series(pd.to_datetime(["2021-01-05 13:00:00"])).dt.tz_localize("UTC")
    path = tmp_path / "green_tripdata_2021-01.parquet"
    table.to_parquet(path, index=False)
    frame = read_tlc_file(path)
    assert str(frame["pickup_datetime"].dtype) == "datetime64[us]"
    assert frame["pickup_datetime"].iloc[0] == pd.Timestamp("2021-01-05 08:00:00")


def test_conform_is_idempotent_and_keeps_recorded_failures() -> None:
    table = green_rows(2)
    table["passenger_count"] = [1.5, 1.0]
    once = conform(table, service="green")
    twice = conform(once)
    pd.testing.assert_frame_equal(once, twice)
    assert twice.attrs[CAST_FAILURES_ATTR] == {"passenger_count": [0]}

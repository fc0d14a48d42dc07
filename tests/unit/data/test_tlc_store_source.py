"""The parquet dataset store and the file source, on temporary folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from tlc_rows import JAN, green_rows, raw

from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.errors import DataUnavailableError, TlcFileError
from tripcast.data_engineering.tlc.schema import CANONICAL_DTYPES
from tripcast.data_engineering.tlc.source import TlcFileSource
from tripcast.data_engineering.tlc.store import ParquetDatasetStore
from tripcast.data_engineering.tlc.validation import PanderaTripValidator


def test_store_round_trip_keeps_dtypes(tmp_path: Path) -> None:
    table = green_rows(4)
    table.loc[2, "trip_distance"] = -1.0
    outcome = PanderaTripValidator().split(raw(table))
    store = ParquetDatasetStore(tmp_path / "processed", tmp_path / "quarantine", service="green")
    assert not store.has_processed(JAN)
    processed = store.save_processed(JAN, outcome.valid)
    quarantined = store.save_quarantine(JAN, outcome.quarantined)
    assert processed == str(tmp_path / "processed" / "green_tripdata_2021-01.parquet")
    assert quarantined == str(tmp_path / "quarantine" / "green_tripdata_2021-01.parquet")
    assert store.has_processed(JAN)
    pd.testing.assert_frame_equal(store.load_processed(JAN), outcome.valid)
    pd.testing.assert_frame_equal(store.load_quarantine(JAN), outcome.quarantined)
    assert str(store.load_processed(JAN)["pickup_zone"].dtype) == CANONICAL_DTYPES["pickup_zone"]
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == ["green_tripdata_2021-01.parquet"]


def test_store_overwrites_atomically(tmp_path: Path) -> None:
    store = ParquetDatasetStore(tmp_path / "p", tmp_path / "q")
    store.save_processed(JAN, green_rows(3))
    store.save_processed(JAN, green_rows(1))
    assert len(store.load_processed(JAN)) == 1
    assert len(list((tmp_path / "p").iterdir())) == 1


def test_missing_month_tells_the_user_what_to_run(tmp_path: Path) -> None:
    store = ParquetDatasetStore(tmp_path / "p", tmp_path / "q")
    with pytest.raises(NotFoundError, match=r"run `tripcast validate --month 2021-02`"):
        store.load_processed(Month(2021, 2))


def _write(folder: Path, name: str, rows: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".csv"):
        green_rows(rows).to_csv(path, index=False)
    else:
        green_rows(rows).to_parquet(path, index=False)
    return path


def test_source_prefers_local_folder_then_raw_dir(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    local = tmp_path / "local"
    _write(raw_dir, "green_tripdata_2021-01.parquet", rows=5)
    _write(local, "green_tripdata_2021-01.csv", rows=2)
    source = TlcFileSource(raw_dir, local_source=local)
    assert source.fetch(JAN) == str(local / "green_tripdata_2021-01.csv")
    dataset = source.load(JAN)
    assert len(dataset.table) == 2 and dataset.month == JAN
    assert dataset.digest == hashlib.sha256((local / "green_tripdata_2021-01.csv").read_bytes()).hexdigest()
    assert TlcFileSource(raw_dir).fetch(JAN) == str(raw_dir / "green_tripdata_2021-01.parquet")


def test_source_with_a_single_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "my_trips.parquet", rows=4)
    source = TlcFileSource(tmp_path / "raw", local_source=path)
    assert source.fetch(Month(2021, 3)) == str(path)
    named = _write(tmp_path, "green_tripdata_2021-01.parquet")
    with pytest.raises(TlcFileError, match="says 2021-01 but month 2021-02"):
        TlcFileSource(tmp_path / "raw", local_source=named).fetch(Month(2021, 2))


def test_source_without_file_or_downloader_explains_every_way_out(tmp_path: Path) -> None:
    source = TlcFileSource(tmp_path / "raw", service="green")
    with pytest.raises(DataUnavailableError) as info:
        source.fetch(Month(2021, 4))
    message = str(info.value)
    assert "https://d37ci6vzurychx.cloudfront.net/trip-data/green_tripdata_2021-04.parquet" in message
    assert str((tmp_path / "raw" / "green_tripdata_2021-04.parquet").resolve()) in message
    assert "--source DIR" in message and "TRIPCAST_RAW_DIR" in message and "--synthetic" in message


def test_source_refuses_months_before_2019(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        TlcFileSource(tmp_path).fetch(Month(2018, 6))
    assert info.value.problems[0].field == "month"


def test_load_file_month_from_name_or_from_pickups(tmp_path: Path) -> None:
    source = TlcFileSource(tmp_path / "raw")
    named = _write(tmp_path, "green_tripdata_2021-01.parquet")
    assert source.load_file(named).month == JAN
    anonymous = tmp_path / "export.parquet"
    table = green_rows(5)
    table["lpep_pickup_datetime"] = pd.to_datetime(
        ["2021-03-02", "2021-03-05", "2021-03-09", "2021-02-28", "2009-01-01"]
    ).astype("datetime64[us]")
    table["lpep_dropoff_datetime"] = table["lpep_pickup_datetime"] + pd.Timedelta(minutes=9)
    table.to_parquet(anonymous, index=False)
    dataset = source.load_file(anonymous)
    assert dataset.month == Month(2021, 3)
    assert dataset.source == str(anonymous)
    assert len(dataset.digest) == 64


def test_failed_write_keeps_the_previous_file_and_names_the_cause(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import errno

    from tripcast.data_engineering.tlc.store import DatasetWriteError

    store = ParquetDatasetStore(tmp_path / "p", tmp_path / "q")
    store.save_processed(JAN, green_rows(3))
    before = store.processed_path(JAN).read_bytes()

    def disk_fills_halfway(frame: pd.DataFrame, path: Path, **_: object) -> None:
        Path(path).write_bytes(b"PAR1" + b"\0" * 100)  # what a writer leaves when the disk fills
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_fills_halfway)
    with pytest.raises(DatasetWriteError, match=r"green_tripdata_2021-01.parquet: No space left on device"):
        store.save_processed(JAN, green_rows(5))
    assert store.processed_path(JAN).read_bytes() == before
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["green_tripdata_2021-01.parquet"]

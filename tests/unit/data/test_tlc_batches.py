"""Reading a TLC month in batches: same rows and types as reading it whole, any file kind, bounded batches."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tlc_rows import JAN, green_rows

from tripcast.data_engineering.tlc.casting import CAST_FAILURES_ATTR
from tripcast.data_engineering.tlc.errors import TlcFileError
from tripcast.data_engineering.tlc.files import read_tlc_batches, read_tlc_file
from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS
from tripcast.data_engineering.tlc.source import TlcFileSource


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["green_tripdata_2021-01.parquet", "green_tripdata_2021-01.csv"])
def test_batches_concatenate_to_the_whole_file(tmp_path: Path, name: str) -> None:
    rows = green_rows(7)
    rows["passenger_count"] = [1.0, 1.5, 2.0, 1.0, 1.0, 9.5, 1.0]  # cast failures in batches 1 and 3
    path = _write(rows, tmp_path / name)
    batches = list(read_tlc_batches(path, "green", batch_rows=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [b.attrs[CAST_FAILURES_ATTR].get("passenger_count", []) for b in batches] == [[1], [2], []]
    whole = read_tlc_file(path, "green")
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


@pytest.mark.parametrize("name", ["green_tripdata_2021-01.parquet", "green_tripdata_2021-01.csv"])
def test_a_file_without_rows_gives_one_empty_canonical_batch(tmp_path: Path, name: str) -> None:
    path = _write(green_rows(0), tmp_path / name)
    [batch] = list(read_tlc_batches(path, "green", batch_rows=3))
    assert list(batch.columns) == CANONICAL_COLUMNS and batch.empty


def test_missing_required_columns_fail_before_any_batch(tmp_path: Path) -> None:
    path = _write(green_rows(5).drop(columns=["PULocationID"]), tmp_path / "green_tripdata_2021-01.parquet")
    with pytest.raises(TlcFileError, match="missing required columns"):
        next(read_tlc_batches(path, "green", batch_rows=2))


def test_source_reads_a_month_in_batches_with_its_digest(tmp_path: Path) -> None:
    _write(green_rows(5), tmp_path / "green_tripdata_2021-01.parquet")
    source = TlcFileSource(tmp_path)
    batches = source.read_batches(JAN, batch_rows=2)
    assert batches.digest == source.load(JAN).digest and batches.month == JAN
    assert [len(b) for b in batches.batches] == [2, 2, 1]

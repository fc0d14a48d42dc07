"""The drift feature source's column-pruned path equals the general read-validate-build path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support.drift_features import load_trip_features
from tripcast.core.domain.month import Month
from tripcast.data_engineering.features import trip_feature_source
from tripcast.data_engineering.features.trip_feature_source import TlcFeatureSource, read_required_columns
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.validation import PanderaTripValidator


def source(raw: Path) -> TlcFeatureSource:
    return TlcFeatureSource(raw, "green", PanderaTripValidator(), TripFeatureBuilder())


def test_real_month_gives_the_general_paths_features_and_reasons(shared_data_dir: Path) -> None:
    path = shared_data_dir / "green_tripdata_2021-01.parquet"
    assert read_required_columns(path) is not None  # the fast path is the one exercised
    sample = source(shared_data_dir).load(source(shared_data_dir).resolve("2021-01"))
    features, _, reasons = load_trip_features(path)
    pd.testing.assert_frame_equal(sample.features, features)
    assert sample.quarantined == reasons and sample.n_input == pq.read_metadata(path).num_rows
    assert sample.n_valid + sample.n_quarantined == sample.n_input  # every input row accounted for


def test_nulls_and_a_month_override_follow_the_validator(shared_data_dir: Path, tmp_path: Path) -> None:
    table = pq.read_table(shared_data_dir / "green_tripdata_2021-01.parquet").slice(0, 2000)
    distance = table.column("trip_distance").to_pylist()
    distance[:7] = [None] * 7
    table = table.set_column(table.schema.get_field_index("trip_distance"), "trip_distance", pa.array(distance))
    path = tmp_path / "trips.parquet"  # no month in the name: --month decides
    pq.write_table(table, path)
    sample = source(tmp_path).load(str(path), Month(2021, 2))
    features, _, reasons = load_trip_features(path, Month(2021, 2))
    assert sample.quarantined == reasons and sample.quarantined["missing_required_field"] == 7
    assert sample.quarantined["pickup_outside_month"] >= 1990
    pd.testing.assert_frame_equal(sample.features, features)


def test_files_the_fast_path_cannot_take_go_through_the_general_reader(
    shared_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pq.read_table(shared_data_dir / "green_tripdata_2021-01.parquet").slice(0, 3000).to_pandas()
    csv = tmp_path / "green_tripdata_2021-01.csv"
    frame.to_csv(csv, index=False)
    typed_as_text = tmp_path / "green_tripdata_2021-01.parquet"
    pq.write_table(pa.Table.from_pandas(frame.astype({"trip_distance": str}), preserve_index=False), typed_as_text)
    assert read_required_columns(csv) is None and read_required_columns(typed_as_text) is None
    general_calls: list[Path] = []
    real_reader = trip_feature_source.read_tlc_file
    monkeypatch.setattr(trip_feature_source, "read_tlc_file", lambda p: general_calls.append(p) or real_reader(p))
    for path in (csv, typed_as_text):
        sample = source(tmp_path).load(str(path))
        features, _, reasons = load_trip_features(path)
        pd.testing.assert_frame_equal(sample.features, features)
        assert sample.quarantined == reasons
    assert general_calls == [csv, typed_as_text]

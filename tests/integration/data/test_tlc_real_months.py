"""The real green 2021-01..03 files (see shared SOURCE.md) through reader, source, validator and store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from support.fakes_data import FixedClock, MemoryAudit
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from tripcast.core.ports.data import RawDataset, ValidationOutcome
from tripcast.core.services.validation import Validation
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES, REASON_COLUMN
from tripcast.data_engineering.tlc.source import TlcFileSource
from tripcast.data_engineering.tlc.store import ParquetDatasetStore
from tripcast.data_engineering.tlc.validation import PanderaTripValidator, build_trip_schema

# From SOURCE.md: rows, rows with pickup outside the month, rows with a 1-60 minute duration, sha256.
FACTS = {
    Month(2021, 1): (76_518, 3, 73_908, "b8e2c9496c5eada0f10adbd88f98d91721ec6fe2787a2b355cf0ccfa9678ee7b"),
    Month(2021, 2): (64_572, 2, 61_921, "fd43c7afa2002716c8afadfd57665ab9c9ad99be419570a9b0a08de15cbeb64e"),
    Month(2021, 3): (83_827, 0, 80_372, "78847a2e0ccb58202eef3337903e696317656815f50423733ad3099dabc58a9d"),
}
MONTHS = list(FACTS)


@pytest.fixture(scope="module")
def datasets(shared_data_dir: Path) -> dict[Month, RawDataset]:
    source = TlcFileSource(shared_data_dir, service="green")
    return {month: source.load(month) for month in MONTHS}


@pytest.fixture(scope="module")
def outcomes(datasets: dict[Month, RawDataset]) -> dict[Month, ValidationOutcome]:
    validator = PanderaTripValidator()
    return {month: validator.split(dataset) for month, dataset in datasets.items()}


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_row_counts_and_digests_match_source_md(month: Month, datasets: dict[Month, RawDataset]) -> None:
    rows, _, _, sha256 = FACTS[month]
    assert len(datasets[month].table) == rows
    assert datasets[month].digest == sha256


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_every_column_is_cast_to_canonical(month: Month, datasets: dict[Month, RawDataset]) -> None:
    table = datasets[month].table
    assert list(table.columns) == CANONICAL_COLUMNS
    assert {c: str(t) for c, t in table.dtypes.items()} == CANONICAL_DTYPES
    # Nothing was lost in casting: the real files hold whole numbers in their float id columns.
    assert table.attrs["tripcast_cast_failures"] == {}
    raw = pq.read_table(datasets[month].source).to_pandas()
    assert int(table["passenger_count"].isna().sum()) == int(raw["passenger_count"].isna().sum())
    assert (table["pickup_zone"].astype("int64") == raw["PULocationID"]).all()
    assert table["passenger_count"].sum() == raw["passenger_count"].sum()
    assert set(table["service"]) == {"green"}


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_invariant_and_valid_durations(
    month: Month, datasets: dict[Month, RawDataset], outcomes: dict[Month, ValidationOutcome]
) -> None:
    outcome = outcomes[month]
    rows, _, in_range, _ = FACTS[month]
    assert outcome.n_valid + outcome.n_quarantined == rows
    minutes = outcome.valid["duration_minutes"]
    assert minutes.between(MIN_DURATION_MINUTES, MAX_DURATION_MINUTES).all()
    # Valid rows are the 1-60 minute rows minus those failing other rules (distance, month, zones).
    assert in_range - 200 < outcome.n_valid <= in_range
    assert outcome.quarantined[REASON_COLUMN].str.len().min() > 0
    build_trip_schema(month=month, processed=True).validate(outcome.valid)


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_out_of_month_pickups_are_quarantined(month: Month, outcomes: dict[Month, ValidationOutcome]) -> None:
    _, outside, _, _ = FACTS[month]
    outcome = outcomes[month]
    assert outcome.reasons.get("pickup_outside_month", 0) == outside
    flagged = outcome.quarantined[outcome.quarantined[REASON_COLUMN].str.contains("pickup_outside_month")]
    assert len(flagged) == outside
    assert not flagged["pickup_datetime"].between(month.start, month.end, inclusive="left").any()


def test_january_strays_are_the_documented_ones(outcomes: dict[Month, ValidationOutcome]) -> None:
    quarantined = outcomes[Month(2021, 1)].quarantined
    strays = quarantined[quarantined[REASON_COLUMN].str.contains("pickup_outside_month")]
    assert sorted(strays["pickup_datetime"].dt.strftime("%Y-%m-%d")) == ["2009-01-01", "2009-01-01", "2020-12-31"]


def test_outliers_named_in_source_md_are_caught(outcomes: dict[Month, ValidationOutcome]) -> None:
    january = outcomes[Month(2021, 1)]
    assert january.reasons["implausible_distance"] > 0
    assert january.valid["trip_distance"].max() <= 100
    assert january.reasons["duration_out_of_range"] > 2_000


def test_reader_matches_source_load(shared_data_dir: Path, datasets: dict[Month, RawDataset]) -> None:
    frame = read_tlc_file(shared_data_dir / "green_tripdata_2021-02.parquet")
    assert frame.equals(datasets[Month(2021, 2)].table)


def test_validation_service_end_to_end(shared_data_dir: Path, tmp_path: Path) -> None:
    store = ParquetDatasetStore(tmp_path / "processed", tmp_path / "quarantine")
    validation = Validation(
        TlcFileSource(shared_data_dir), PanderaTripValidator(), store, MemoryAudit(), FixedClock(), batch_rows=10_000
    )
    report = validation.validate(Month(2021, 2))
    assert report.n_input == 64_572
    assert report.n_valid + report.n_quarantined == report.n_input
    assert len(store.load_processed(Month(2021, 2))) == report.n_valid
    assert len(store.load_quarantine(Month(2021, 2))) == report.n_quarantined


@pytest.mark.parametrize("month", MONTHS)
def test_batch_wise_validation_writes_what_whole_file_validation_gives(
    month: Month, shared_data_dir: Path, outcomes: dict[Month, ValidationOutcome], tmp_path: Path
) -> None:
    """Batches of 7,000 rows (cast failures and reasons recorded per batch) against the whole month at once."""
    store = ParquetDatasetStore(tmp_path / "processed", tmp_path / "quarantine")
    audit = MemoryAudit()
    validation = Validation(
        TlcFileSource(shared_data_dir), PanderaTripValidator(), store, audit, FixedClock(), batch_rows=7_000
    )
    report = validation.validate(month)
    whole = outcomes[month]
    assert report.reasons == dict(sorted(whole.reasons.items(), key=lambda item: -item[1]))
    pd.testing.assert_frame_equal(store.load_processed(month), whole.valid)
    pd.testing.assert_frame_equal(store.load_quarantine(month), whole.quarantined)
    assert pq.ParquetFile(report.processed_path).metadata.num_row_groups > 1  # really written batch by batch
    assert [e.details["rows_in"] for e in audit.recorded] == [str(FACTS[month][0])]
    assert not list((tmp_path / "processed").glob(".*.tmp"))  # no temporary file left behind

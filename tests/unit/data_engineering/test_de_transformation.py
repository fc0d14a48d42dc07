"""Ibis transformations on DuckDB: validator parity, features, enrichment, point-in-time aggregates."""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.data_engineering.transformation import (
    add_trip_features,
    clean_trips,
    open_engine,
    quarantine_trips,
    transform_trips,
    zone_hour_features,
    zone_pair_features,
)
from tripcast.data_engineering.transformation import engine as engine_module

JAN = Month(2021, 1)


@pytest.fixture()
def duck():
    with open_engine("duckdb") as engine:
        yield engine


def _features(duck, frame: pd.DataFrame) -> ibis.Table:
    return add_trip_features(clean_trips(ibis.memtable(frame)))


def test_cleaning_matches_pandera_validator_on_a_real_month(duck, january_canonical):
    canonical = pd.read_parquet(january_canonical)
    outcome = PanderaTripValidator().split(RawDataset(canonical, JAN, "test"))
    table = duck.read_parquet(january_canonical)
    clean = clean_trips(table, JAN).to_pandas()
    quarantined = quarantine_trips(table, JAN).to_pandas()

    assert len(clean) == outcome.n_valid
    assert len(quarantined) == outcome.n_quarantined
    assert len(clean) + len(quarantined) == len(canonical)
    ours = quarantined.quarantine_reason.str.split("; ").explode().value_counts().to_dict()
    assert ours == outcome.reasons
    expected = outcome.valid.sort_values(["pickup_datetime", "dropoff_datetime", "pickup_zone", "total_amount"])
    got = clean.sort_values(["pickup_datetime", "dropoff_datetime", "pickup_zone", "total_amount"])
    assert got.duration_minutes.to_numpy() == pytest.approx(expected.duration_minutes.to_numpy())


def test_quarantine_names_every_broken_rule(duck, build_trips, raw_trip):
    frame = build_trips(
        [
            raw_trip(10, 20, "2021-01-05 08:00", "2021-01-05 08:20"),
            raw_trip(10, 999, "2021-01-05 08:00", "2021-01-05 10:30", miles=500.0),
            raw_trip(10, 20, "2021-01-05 08:00", "2021-01-05 07:00"),
            raw_trip(10, 20, "2020-12-31 23:50", "2021-01-01 00:10", miles=-1.0),
        ]
    )
    quarantined = quarantine_trips(ibis.memtable(frame), JAN).to_pandas()
    reasons = sorted(quarantined.quarantine_reason)
    assert reasons == [
        "dropoff_not_after_pickup",
        "duration_out_of_range; implausible_distance; unknown_dropoff_zone",
        "negative_distance; pickup_outside_month",
    ]


def test_features_and_enrichment(duck, build_trips, raw_trip):
    frame = build_trips([raw_trip(43, 236, "2021-01-09 14:10", "2021-01-09 14:40", miles=3.0)])
    month = transform_trips(ibis.memtable(frame), JAN)
    row = month.trips.to_pandas().iloc[0]
    assert row.duration_minutes == 30.0
    assert row.pickup_hour == 14
    assert row.pickup_day_of_week == 5  # a Saturday
    assert bool(row.is_weekend)
    assert row.avg_speed_mph == pytest.approx(6.0)
    assert (row.pickup_borough, row.pickup_zone_name) == ("Manhattan", "Central Park")
    assert (row.dropoff_zone_name, row.dropoff_service_zone) == ("Upper East Side North", "Yellow Zone")


def test_zone_hour_uses_only_trips_ended_before_the_hour(duck, build_trips, raw_trip):
    frame = build_trips(
        [
            raw_trip(10, 20, "2021-01-05 08:10", "2021-01-05 08:40"),  # 30 min, ended before 09:00
            raw_trip(10, 21, "2021-01-05 08:20", "2021-01-05 08:59:59"),  # ~40 min, ended before 09:00
            raw_trip(10, 20, "2021-01-05 08:30", "2021-01-05 09:00"),  # ends AT 09:00: not usable at 09:00
            raw_trip(10, 20, "2021-01-05 08:50", "2021-01-05 09:30"),  # still under way at 09:00
        ]
    )
    hourly = zone_hour_features(_features(duck, frame)).to_pandas().set_index("feature_timestamp")
    at_nine = hourly.loc[pd.Timestamp("2021-01-05 09:00")]
    assert at_nine.zone_trips_1h == 2
    assert at_nine.zone_median_duration_1h == pytest.approx((30 + 39 + 59 / 60) / 2)
    assert hourly.loc[pd.Timestamp("2021-01-05 10:00")].zone_trips_1h == 2
    assert pd.Timestamp("2021-01-05 08:00") not in hourly.index


def test_zone_hour_property_no_future_trip_is_used(duck, january_canonical):
    trips = add_trip_features(clean_trips(duck.read_parquet(january_canonical), JAN))
    hourly = zone_hour_features(trips).to_pandas()
    raw = trips.to_pandas()
    sample = hourly.sample(200, random_state=0)
    for row in sample.itertuples():
        used = raw[
            (raw.pickup_zone == row.pickup_zone)
            & (raw.dropoff_datetime < row.feature_timestamp)
            & (raw.dropoff_datetime >= row.feature_timestamp - pd.Timedelta(hours=1))
        ]
        assert len(used) == row.zone_trips_1h
        assert used.duration_minutes.median() == pytest.approx(row.zone_median_duration_1h)


def test_zone_pair_trailing_window_is_point_in_time(duck, build_trips, raw_trip):
    frame = build_trips(
        [
            raw_trip(10, 20, "2021-01-03 10:00", "2021-01-03 10:10"),  # 10 min, ended Jan 3
            raw_trip(10, 20, "2021-01-05 10:00", "2021-01-05 10:30"),  # 30 min, ended Jan 5
            raw_trip(10, 20, "2021-01-05 23:50", "2021-01-06 00:40"),  # 50 min, ended Jan 6
        ]
    )
    daily = zone_pair_features(_features(duck, frame), window_days=7).to_pandas().set_index("feature_timestamp")
    assert pd.Timestamp("2021-01-03") not in daily.index  # nothing had ended before Jan 3 00:00
    assert daily.loc[pd.Timestamp("2021-01-04")].pair_trips_7d == 1
    assert daily.loc[pd.Timestamp("2021-01-06")].pair_median_duration_7d == pytest.approx(20.0)
    assert daily.loc[pd.Timestamp("2021-01-07")].pair_median_duration_7d == pytest.approx(30.0)
    assert daily.loc[pd.Timestamp("2021-01-10")].pair_trips_7d == 3
    assert daily.loc[pd.Timestamp("2021-01-11")].pair_trips_7d == 2  # the Jan 3 trip left the window
    assert pd.Timestamp("2021-01-14") not in daily.index


def test_month_outputs_stay_inside_the_month_and_use_lookback(duck, build_trips, raw_trip):
    previous = build_trips([raw_trip(10, 20, "2020-12-31 23:00", "2020-12-31 23:30")])
    current = build_trips([raw_trip(10, 20, "2021-01-31 23:00", "2021-01-31 23:30")])
    out = transform_trips(ibis.memtable(current), JAN, lookback=ibis.memtable(previous))
    hourly = out.zone_hour.to_pandas()
    assert hourly.feature_timestamp.tolist() == [pd.Timestamp(datetime(2021, 1, 1))]
    daily = out.zone_pair.to_pandas()
    assert daily.feature_timestamp.min() == pd.Timestamp("2021-01-01")
    assert daily.feature_timestamp.max() == pd.Timestamp("2021-01-07")
    assert len(out.trips.to_pandas()) == 1


def test_range_split_write_equals_single_pass(duck, january_canonical, tmp_path):
    trips = add_trip_features(clean_trips(duck.read_parquet(january_canonical), JAN))
    pairs = zone_pair_features(trips, ordered=False)
    whole = duck.write_parquet(pairs, tmp_path / "whole")
    split = duck.write_parquet(pairs, tmp_path / "split", split_by="pickup_zone", splits=5)
    assert len(list(split.glob("part-*.parquet"))) == 5
    keys = ["pickup_zone", "dropoff_zone", "feature_timestamp"]
    # The aggregate is unordered: compare the rows in one explicit order.
    one = pd.read_parquet(whole).sort_values(keys, ignore_index=True)
    parts = pd.read_parquet(split).sort_values(keys, ignore_index=True)
    assert len(one) > 100_000
    pd.testing.assert_frame_equal(one, parts)  # same rows, each exactly once


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory table", "parquet file"])
def test_materialized_history_gives_identical_outputs(duck, january_canonical, monkeypatch, in_memory):
    """Materialising the aggregates' input (sorted, in memory or in a temp file) never changes the result."""
    # A real month is far below the in-memory share of the limit; a zero share forces the file.
    monkeypatch.setattr(engine_module, "IN_MEMORY_SHARE", 0.25 if in_memory else 0.0)
    lazy = transform_trips(duck.read_parquet(january_canonical), JAN)
    cached = transform_trips(duck.read_parquet(january_canonical), JAN, materialize=duck.materialize)
    history = next(t for t in engine_module._source_tables(cached.zone_pair) if "pickup_zone" in t.columns)
    kind = duck.con.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [history.get_name()]
    ).fetchall()[0][0]
    assert (kind == 1) is in_memory  # a table of the database, or a view over the temp parquet file
    assert bool(duck._materialized) is not in_memory
    for name in ("zone_hour", "zone_pair"):
        one, two = getattr(lazy, name).to_pandas(), getattr(cached, name).to_pandas()
        assert len(one) > 30_000, name
        # Medians and counts are exact; a mean may differ in the last bits with summation order.
        pd.testing.assert_frame_equal(one, two, check_exact=False, rtol=1e-12)
    history_rows = history.pickup_zone.to_pandas()
    assert history_rows.is_monotonic_increasing  # stored in cluster order: range filters skip row groups


def test_memory_limit_and_row_width_estimates():
    assert engine_module._parse_bytes("2.7 GiB") == pytest.approx(2.7 * 2**30)
    assert engine_module._parse_bytes("3GB") == 3e9
    assert engine_module._parse_bytes("512 bytes") == 512
    with pytest.raises(ValueError, match="not a size"):
        engine_module._parse_bytes("lots")
    schema = ibis.schema({"zone": "int32", "when": "timestamp", "minutes": "float64", "name": "string"})
    assert [engine_module._column_bytes(t) for t in schema.types] == [6, 10, 10, 18]


def test_range_split_keeps_rows_outside_the_cut_hints_and_nulls(duck, tmp_path):
    """Cut points are only a balance hint: open-ended first/last ranges and nulls mean no row is lost."""
    frame = pd.DataFrame({"zone": pd.array([5, 1, None, 1, 900, 3, 3, 3, -7, None], dtype="Int64"), "v": range(10)})
    table = ibis.memtable(frame)
    out = duck.write_parquet(table.order_by("zone"), tmp_path / "parts", split_by="zone", splits=3)
    parts = sorted(out.glob("part-*.parquet"))
    assert 2 <= len(parts) <= 3
    written = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert sorted(written.v) == list(range(10))
    assert written.zone.tail(2).isna().all()  # nulls land last, as in an ascending ORDER BY
    assert written.zone.dropna().is_monotonic_increasing  # parts are written in ascending ranges


def test_cut_points_balance_rows_and_isolate_a_heavy_value():
    from tripcast.data_engineering.transformation.engine import _cut_points

    assert _cut_points([(i, 1) for i in range(1, 11)], 5) == [2, 4, 6, 8]
    assert _cut_points([(1, 100), (2, 1), (3, 1)], 3) == [1, 2]
    assert _cut_points([(7, 5)], 4) == []


def test_aggregate_splits_count_the_rows_each_aggregate_groups():
    """zone_pair groups every trip once per window day, so it gets that many times the ranges."""
    from tripcast.data_engineering.transformation import aggregate_splits

    assert aggregate_splits(46_557_819) == {"zone_hour": 16, "zone_pair": 109}
    assert aggregate_splits(46_557_819, window_days=3, rows_per_split=10_000_000) == {"zone_hour": 5, "zone_pair": 14}
    assert aggregate_splits(0) == {"zone_hour": 1, "zone_pair": 1}


def test_unordered_plan_holds_the_same_rows_as_the_ordered_one(duck, january_canonical):
    """``ordered=False`` only skips the final sorts: every output keeps exactly the same rows."""
    from tripcast.data_engineering.transformation.plan import OUTPUT_KEYS

    table = duck.read_parquet(january_canonical)
    ordered = transform_trips(table, JAN)
    unordered = transform_trips(table, JAN, zone_table=duck.zone_table(), ordered=False)
    for name, expr in ordered.items():
        keys = list(OUTPUT_KEYS[name])
        one = expr.to_pandas()
        two = getattr(unordered, name).to_pandas().sort_values(keys, ignore_index=True)
        assert len(one) > 2_000, name
        pd.testing.assert_frame_equal(one, two, check_exact=False, rtol=1e-12)


def test_enum_zone_table_writes_plain_string_columns(duck, build_trips, raw_trip, tmp_path):
    """DuckDB's ENUM zone table is a storage detail: the enriched file has ordinary string columns."""
    frame = build_trips(
        [
            raw_trip(43, 236, "2021-01-09 14:10", "2021-01-09 14:40", miles=3.0),
            raw_trip(1, 265, "2021-01-09 15:10", "2021-01-09 15:40", miles=3.0),
        ]
    )
    with_enum = transform_trips(ibis.memtable(frame), JAN, zone_table=duck.zone_table()).trips
    with_strings = transform_trips(ibis.memtable(frame), JAN).trips
    enum_file = duck.write_parquet(with_enum, tmp_path / "enum") / "part-0000.parquet"
    string_file = duck.write_parquet(with_strings, tmp_path / "strings") / "part-0000.parquet"
    assert pq.read_schema(enum_file) == pq.read_schema(string_file)
    assert pa.types.is_string(pq.read_schema(enum_file).field("dropoff_zone_name").type)
    written = pd.read_parquet(enum_file)
    pd.testing.assert_frame_equal(written, pd.read_parquet(string_file))
    assert written.pickup_zone_name.tolist() == ["Central Park", "Newark Airport"]


def test_plan_without_a_month_keeps_every_date_and_refuses_a_lookback(build_trips, raw_trip):
    frame = build_trips(
        [
            raw_trip(10, 20, "2019-06-05 08:00", "2019-06-05 08:20"),
            raw_trip(10, 20, "2021-01-05 08:00", "2021-01-05 08:20"),
        ]
    )
    outputs = transform_trips(ibis.memtable(frame), None, ordered=False)
    assert len(outputs.trips.to_pandas()) == 2
    assert len(outputs.quarantine.to_pandas()) == 0
    with pytest.raises(ValueError, match="lookback needs a month"):
        transform_trips(ibis.memtable(frame), None, lookback=ibis.memtable(frame))


def test_written_files_hold_the_types_the_plan_declares(duck, build_trips, raw_trip, tmp_path):
    """The catalog publishes the Ibis schema, so every written column must have exactly that type.

    Ibis types ``hour()`` and ``month()`` as int32 and drops a cast to int32 as a no-op, while
    DuckDB's EXTRACT returns BIGINT: without care the files would disagree with the catalog.
    """
    frame = build_trips(
        [
            raw_trip(43, 236, "2021-01-09 14:10", "2021-01-09 14:40", miles=3.0),
            raw_trip(43, 236, "2021-01-10 09:10", "2021-01-10 09:30", miles=2.0),
            raw_trip(43, 999, "2021-01-10 09:10", "2021-01-10 09:30", miles=2.0),
        ]
    )
    outputs = transform_trips(ibis.memtable(frame), JAN, zone_table=duck.zone_table())
    for name, expr in outputs.items():
        written = pq.read_schema(duck.write_parquet(expr, tmp_path / name) / "part-0000.parquet")
        declared = expr.schema().to_pyarrow()
        assert {f.name: f.type for f in written} == {f.name: f.type for f in declared}, name

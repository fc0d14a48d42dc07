"""Quality checks, robust anomaly detection, report rendering and Prometheus textfile export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.month import Month
from tripcast.data_engineering.quality import (
    build_quality_report,
    detect_daily_anomalies,
    export_quality_metrics,
    flag_anomalies,
    robust_z_scores,
    write_report,
)
from tripcast.data_engineering.quality import checks as qc


def test_robust_z_ignores_the_outlier_it_is_looking_for():
    values = pd.Series([100, 102, 98, 101, 99, 100, 400], dtype=float)
    scores = robust_z_scores(values)
    assert scores.iloc[-1] > 100  # a mean/std z-score would only reach ~2.4 here
    assert scores.iloc[:-1].abs().max() < 1.5


def test_weekly_cycle_is_not_an_anomaly_but_a_holiday_is():
    days = pd.date_range("2021-03-01", periods=28, freq="D")
    volume = pd.Series(np.where(days.dayofweek >= 5, 1300.0, 2400.0), index=days)
    volume += np.random.default_rng(0).normal(0, 30, len(days))
    assert flag_anomalies(volume, "daily_volume", weekly=True) == []
    volume.iloc[10] = 700.0  # a Thursday with a blizzard
    flagged = flag_anomalies(volume, "daily_volume", weekly=True)
    assert [a.day for a in flagged] == ["2021-03-11"]
    assert flagged[0].robust_z < -3.5


def test_daily_statistics_flag_a_day_with_shifted_distances():
    rng = np.random.default_rng(1)
    pickups = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.uniform(0, 28 * 86400, 20_000), unit="s")
    trips = pd.DataFrame(
        {
            "pickup_datetime": pickups,
            "trip_distance": rng.gamma(2.0, 1.5, len(pickups)),
            "duration_minutes": rng.uniform(5, 30, len(pickups)),
            "fare_amount": rng.uniform(5, 40, len(pickups)),
            "total_amount": rng.uniform(6, 50, len(pickups)),
            "passenger_count": pd.array(rng.integers(1, 3, len(pickups)), dtype="Int32"),
        }
    )
    on_the_day = trips.pickup_datetime.dt.floor("D") == pd.Timestamp("2021-01-20")
    trips.loc[on_the_day, "trip_distance"] *= 4
    flagged = {(a.series, a.day) for a in detect_daily_anomalies(trips)}
    assert ("mean_trip_distance", "2021-01-20") in flagged
    assert all(series != "mean_fare_amount" for series, _ in flagged)


def test_check_severities():
    frame = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "zone": [1, 2, 300, 4]})
    assert qc.null_rate(frame, "x", 0.1, 0.5).status == "warn"
    assert qc.null_rate(frame, "x", 0.5, 0.9).status == "pass"
    assert qc.referential_integrity(frame, "zone", range(1, 266)).status == "fail"
    assert qc.value_range(frame, "x", 0, 3, 0.1, 0.5).status == "warn"
    assert qc.volume(500, [70_000, 60_000], 1000).status == "fail"
    assert qc.volume(50_000, [70_000, 60_000], 1000).status == "pass"
    stale = qc.freshness(pd.DataFrame({"t": [datetime(2021, 1, 20)]}), "t", datetime(2021, 2, 1), timedelta(hours=48))
    assert stale.status == "fail" and stale.value == pytest.approx(12 * 24)


def test_report_and_textfile_metrics(tmp_path, january_canonical):
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    outcome = PanderaTripValidator().split(RawDataset(pd.read_parquet(january_canonical), Month(2021, 1), "t"))
    report = build_quality_report(outcome.valid, outcome.quarantined, Month(2021, 1), history=[70_000])
    assert report.failed_checks == []
    assert report.warned_checks == ["quarantine_reason:duration_out_of_range"]
    assert {a.day for a in report.anomalies if a.series == "daily_volume"} == {"2021-01-01", "2021-01-18"}
    json_path, html_path = write_report(report, tmp_path)
    payload = json.loads(json_path.read_text())
    assert payload["counts"] == {"input": 76_518, "valid": 73_844, "quarantined": 2_674}
    page = html_path.read_text()
    assert page.count("data:image/png;base64,") == len(report.daily)
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing fetched from elsewhere
    prom = export_quality_metrics(report, tmp_path / "metrics")
    assert prom is not None
    text = prom.read_text()
    assert 'tripcast_data_rows{dataset="trips",month="2021-01",outcome="valid"} 73844.0' in text
    check = "quarantine_reason:duration_out_of_range"
    assert f'tripcast_data_check_status{{check="{check}",dataset="trips",month="2021-01"}} 1.0' in text


def test_duckdb_statistics_match_the_pandas_checks_on_a_real_month(tmp_path, january_canonical):
    """The report's numbers (computed by DuckDB, from files or frames) against pandas on the same rows."""
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.quality.anomaly import daily_series, detect_daily_anomalies
    from tripcast.data_engineering.quality.run import OPTIONAL_NULL_LIMITS, RANGES, TRIP_IDENTITY
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.data_engineering.tlc.zones import ZoneLookup

    outcome = PanderaTripValidator().split(RawDataset(pd.read_parquet(january_canonical), Month(2021, 1), "t"))
    valid = pd.concat([outcome.valid, outcome.valid.head(500)], ignore_index=True)  # 500 duplicated trips
    valid.loc[valid.index[:300], "pickup_zone"] = 999  # unknown zone ids
    valid_path, quarantine_path = tmp_path / "valid.parquet", tmp_path / "quarantine.parquet"
    valid.to_parquet(valid_path, index=False)
    outcome.quarantined.to_parquet(quarantine_path, index=False)
    from_files = build_quality_report(valid_path, quarantine_path, Month(2021, 1), history=[70_000])
    from_frames = build_quality_report(valid, outcome.quarantined, Month(2021, 1), history=[70_000])
    assert from_files.as_dict() == from_frames.as_dict()

    zone_ids = ZoneLookup.bundled().zone_ids
    expected = [qc.null_rate(valid, c, w, f) for c, (w, f) in OPTIONAL_NULL_LIMITS.items()]
    expected += [qc.value_range(valid, c, lo, hi, w, f) for c, lo, hi, w, f in RANGES]
    expected.append(qc.uniqueness(valid, TRIP_IDENTITY))
    expected += [qc.referential_integrity(valid, c, zone_ids) for c in ("pickup_zone", "dropoff_zone")]
    expected.append(qc.freshness(valid, "pickup_datetime", Month(2021, 1).end, timedelta(hours=48)))
    by_name = {check.name: check for check in from_files.checks}
    for check in expected:
        got = by_name[check.name]
        assert (got.status, got.message) == (check.status, check.message)
        assert got.value == pytest.approx(check.value, rel=1e-12)
    # 500 repeated, but 300 of the originals got an unknown zone: 200 exact repeats remain
    assert by_name["uniqueness:" + "+".join(TRIP_IDENTITY)].value == pytest.approx(200 / len(valid))
    assert by_name["referential_integrity:pickup_zone"].status == "fail"
    exploded = outcome.quarantined["quarantine_reason"].str.split("; ").explode().value_counts()
    assert from_files.reasons == {str(k): int(v) for k, v in exploded.items()}
    for name, series in daily_series(valid).items():
        got = pd.Series(from_files.daily[name]).to_numpy()
        np.testing.assert_allclose(got, series.to_numpy(dtype=float), rtol=1e-9, err_msg=name)
    assert from_files.anomalies == detect_daily_anomalies(valid)

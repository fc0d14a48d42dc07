"""Real-data acceptance: profile from 2021-01, check 2021-03 through the CLI, flag a scaled distance."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from support.drift_features import load_trip_features, trip_spec
from tripcast.cli.monitoring import app
from tripcast.mlops.drift_detection import DriftDetector, ReferenceProfile
from tripcast.mlops.drift_detection.profile_store import load_reference_profile, log_reference_profile

#: Features computed from the trip distance. With TripFeatureBuilder only ``trip_distance`` itself is:
#: zones, boroughs, service zones, hour, weekday and same_zone come from locations and timestamps.
DISTANCE_DEPENDENT = {"trip_distance"}


@pytest.fixture(scope="module")
def january(shared_data_dir: Path) -> tuple:
    return load_trip_features(shared_data_dir / "green_tripdata_2021-01.parquet")


@pytest.fixture(scope="module")
def march(shared_data_dir: Path) -> tuple:
    return load_trip_features(shared_data_dir / "green_tripdata_2021-03.parquet")


def test_scaled_distance_is_flagged_and_nothing_else(january: tuple, march: tuple) -> None:
    spec = trip_spec()
    profile = ReferenceProfile.build(spec, january[0])
    detector = DriftDetector(spec, profile)
    unrelated = [name for name in spec.feature_names if name not in DISTANCE_DEPENDENT]

    # Same month, distance scaled: only the distance-dependent features may drift.
    jan_scaled = january[0].assign(trip_distance=january[0]["trip_distance"] * 1.5)
    same_month = detector.check(jan_scaled)
    assert set(same_month.drifted_columns) == DISTANCE_DEPENDENT
    assert not any(same_month.column(name).drifted for name in unrelated)

    # March against January: natural drift exists (calendar, sparse zone pairs) but not in distance;
    # scaling distance adds exactly the distance verdict and leaves every unrelated score untouched.
    original = detector.check(march[0])
    scaled = detector.check(march[0].assign(trip_distance=march[0]["trip_distance"] * 1.5))
    assert not original.column("trip_distance").drifted
    assert scaled.column("trip_distance").drifted
    assert scaled.column("trip_distance").score > 5 * original.column("trip_distance").score
    assert set(scaled.drifted_columns) == set(original.drifted_columns) | DISTANCE_DEPENDENT
    for name in unrelated:
        assert scaled.column(name).score == pytest.approx(original.column(name).score)


def test_cli_check_against_champion_profile_in_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data_dir: Path, january: tuple
) -> None:
    features, target, _ = january
    spec = trip_spec()
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.create_experiment("drift-it", artifact_location=(tmp_path / "artifacts").as_uri())
    model = LinearRegression().fit(features, target)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(model, name="model", input_example=features.head(2))
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "trip-duration")
    client = MlflowClient(tracking_uri)
    client.set_registered_model_alias("trip-duration", "champion", version.version)
    predictions = model.predict(features)
    log_reference_profile(tracking_uri, run.info.run_id, ReferenceProfile.build(spec, features, predictions))

    loaded = load_reference_profile(tracking_uri, "trip-duration", "champion")
    assert loaded.n_rows == len(features) and loaded.prediction is not None

    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        app,
        [
            "drift",
            "check",
            "--reference",
            "champion",
            "--current",
            str(shared_data_dir / "green_tripdata_2021-03.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trip_distance" in result.output
    reports = tmp_path / "data" / "reports"
    (json_file,) = reports.glob("drift_*.json")
    (html_file,) = reports.glob("drift_*.html")
    payload = json.loads(json_file.read_text())
    assert {c["column"] for c in payload["columns"]} == set(spec.feature_names)
    assert payload["prediction"] is not None and payload["prediction"]["method"] == "wasserstein"
    assert payload["n_current"] > 70_000
    page = html_file.read_text()
    assert page.count("<svg ") == len(spec.features) + 1  # one inline chart per feature and the prediction
    assert "DRIFT" in page or "no drift" in page
    # The profile was cached under the data folder, keyed by version and the sha256 the run carries.
    (cached,) = (tmp_path / "data" / "cache" / "reference_profiles" / "trip-duration").glob("v1-*.json")
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.stem.split("-", 1)[1]


def test_cli_reports_missing_alias_as_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["drift", "check", "--reference", "champion", "--current", "2031-01"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "2031-01" in result.output or "champion" in result.output


def test_profile_json_is_stable_and_compact(january: tuple) -> None:
    profile = ReferenceProfile.build(trip_spec(), january[0])
    text = profile.to_json()
    assert len(text) < 2_000_000
    again = ReferenceProfile.from_json(text)
    assert again.to_json() == text
    assert np.isclose(again.features["trip_distance"].mean, january[0]["trip_distance"].mean())  # type: ignore[union-attr]


def test_cli_profile_to_file_then_check_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data_dir: Path
) -> None:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    profile_file = tmp_path / "profile.json"
    made = runner.invoke(
        app,
        [
            "drift",
            "profile",
            "--train",
            str(shared_data_dir / "green_tripdata_2021-01.parquet"),
            "--output",
            str(profile_file),
        ],
    )
    assert made.exit_code == 0, made.output
    assert ReferenceProfile.from_json(profile_file.read_text()).n_rows > 70_000
    checked = runner.invoke(
        app,
        ["drift", "check", "--profile", str(profile_file), "--threshold", "pickup_weekday=0.5",
         "--current", str(shared_data_dir / "green_tripdata_2021-02.parquet"), "--out-dir", str(tmp_path / "r")],
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    (report,) = (tmp_path / "r").glob("*.json")
    payload = json.loads(report.read_text())
    weekday = next(c for c in payload["columns"] if c["column"] == "pickup_weekday")
    assert weekday["threshold"] == 0.5 and payload["prediction"] is None
    bad = runner.invoke(
        app, ["drift", "check", "--profile", str(profile_file), "--threshold", "x=abc", "--current", "2021-02"]
    )
    assert bad.exit_code == 1 and "x=abc" in bad.output and "Traceback" not in bad.output


@pytest.fixture()
def slices(tmp_path: Path, shared_data_dir: Path) -> dict[str, Path]:
    """A January profile, January rows under a February name, and the same rows in an unnamed file."""
    import pyarrow.parquet as pq

    january_rows = pq.read_table(shared_data_dir / "green_tripdata_2021-01.parquet")
    files = {
        "train": tmp_path / "green_tripdata_2021-01.parquet",
        "misnamed": tmp_path / "green_tripdata_2021-02.parquet",
        "unnamed": tmp_path / "trips.parquet",
    }
    pq.write_table(january_rows.slice(0, 6000), files["train"])
    pq.write_table(january_rows.slice(6000, 3000), files["misnamed"])
    pq.write_table(january_rows.slice(6000, 3000), files["unnamed"])
    profile = ReferenceProfile.build(trip_spec(), load_trip_features(files["train"])[0])
    files["profile"] = tmp_path / "profile.json"
    files["profile"].write_text(profile.to_json())
    return files


def test_cli_check_with_no_valid_rows_fails_with_the_quarantine_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slices: dict[str, Path]
) -> None:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        app, ["drift", "check", "--profile", str(slices["profile"]), "--current", str(slices["misnamed"])]
    )
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "green_tripdata_2021-02.parquet: 0 valid rows, a drift check needs at least 100" in message
    assert "pickup_outside_month 3,000" in message
    assert "no dataset drift" not in message and "Traceback" not in message
    assert not (tmp_path / "data" / "reports").exists()  # no report that could be read as a pass


def test_cli_check_takes_any_trip_file_and_a_stated_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slices: dict[str, Path]
) -> None:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    base = ["drift", "check", "--profile", str(slices["profile"]), "--current", str(slices["unnamed"])]
    unnamed = runner.invoke(app, base)  # no month stated: dates are not held against one
    assert unnamed.exit_code == 0, unnamed.output
    judged = re.search(r"Drift of trip-duration: ([\d,]+) current", " ".join(unnamed.output.split()))
    assert judged is not None and 2_500 < int(judged.group(1).replace(",", "")) <= 3_000
    outside = runner.invoke(app, [*base, "--month", "2021-03"])
    assert outside.exit_code == 1 and "pickup_outside_month 3,000" in " ".join(outside.output.split())
    too_few = runner.invoke(app, [*base, "--month", "2021-01", "--min-rows", "5000"])
    assert too_few.exit_code == 1 and "a drift check needs at least 5,000" in " ".join(too_few.output.split())

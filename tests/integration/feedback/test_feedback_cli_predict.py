"""`tripcast predict --trip` logs its prediction under the request id it prints; `feedback ingest` joins on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripcast.bootstrap import Tripcast

TRIP = '{"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}'


def test_cli_prediction_is_logged_and_its_outcome_joins(
    champion: tuple[Tripcast, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.cli.app import app

    tc, version = champion
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tc.settings.data_dir))
    runner = CliRunner()
    predicted = runner.invoke(app, ["predict", "--trip", TRIP])
    assert predicted.exit_code == 0, predicted.output
    answer = json.loads(predicted.stdout)
    request_id = answer["request_id"]
    assert answer["model_version"] == version and answer["minutes"] > 0
    # durable once the command returned: the log holds the id, with the version that answered
    store = tc.feedback.store
    assert store.known_ids([request_id, "someone-else"]) == {request_id}

    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(f"request_id,actual_minutes\n{request_id},9.5\n")
    ingested = runner.invoke(app, ["feedback", "ingest", "--source", str(outcomes)])
    assert ingested.exit_code == 0, ingested.output
    [joined] = [r for r in store.labeled(tc.settings.model_name) if r.request_id == request_id]
    assert joined.actual_minutes == 9.5 and joined.model_version == version
    assert joined.predicted_minutes == pytest.approx(answer["minutes"], abs=1e-3)


def test_cli_prediction_without_the_log_prints_no_request_id(
    champion: tuple[Tripcast, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.cli.app import app

    tc, _ = champion
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tc.settings.data_dir))
    monkeypatch.setenv("TRIPCAST_PREDICTION_LOG_ENABLED", "false")
    before = tc.feedback.store.count()
    predicted = CliRunner().invoke(app, ["predict", "--trip", TRIP])
    assert predicted.exit_code == 0, predicted.output
    assert "request_id" not in json.loads(predicted.stdout)
    assert tc.feedback.store.count() == before

"""Feedback on real months: replay February through a real champion, live error per borough and window,
concept drift from the drift area's decay check, the audit trail; bad outcome files change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tripcast.bootstrap import Tripcast
from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.services.feedback import FEEDBACK_INGESTED


def test_replay_february_then_report_live_error_per_borough_and_day(champion: tuple[Tripcast, str]) -> None:
    tc, version = champion
    service = tc.feedback.service
    outcome = service.replay(Month(2021, 2), actor="feedback-test")
    assert outcome.rows == outcome.predictions_logged > 50_000  # every valid February trip
    again = service.replay(Month(2021, 2), actor="feedback-test")
    assert again.predictions_logged == 0 and tc.feedback.store.count() == outcome.rows  # idempotent

    report = service.report(window="day")
    [overall] = report.by_version
    assert overall.model_version == version and overall.n == outcome.rows
    assert 2.0 < overall.rmse < 15.0 and overall.mae < overall.rmse
    boroughs = {s.segment for s in report.by_segment}
    assert {"Manhattan", "Brooklyn", "Queens"} <= boroughs
    assert 20 <= len(report.by_window) <= 29  # days of February with trips
    decay = report.decay[version]
    assert decay["n_joined"] == outcome.rows and isinstance(decay["decayed"], bool)
    events = tc.audit.events("model:", actions=[FEEDBACK_INGESTED])
    assert events and events[0].details["month"] == "2021-02"


def test_outcome_file_joins_and_bad_files_change_nothing(champion: tuple[Tripcast, str], tmp_path: Path) -> None:
    tc, _ = champion
    store = tc.feedback.store
    service = tc.feedback.service
    service.replay(Month(2021, 2))
    before = {r.request_id: r.actual_minutes for r in store.labeled(tc.settings.model_name)}
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"request_id": ["replay:2021-02:0", "nobody"], "actual_minutes": [5.0, 7.0]}).to_csv(bad, index=False)
    with pytest.raises(InvalidInputError, match="1 unknown request id"):
        service.ingest(str(bad))
    negative = tmp_path / "negative.csv"
    pd.DataFrame({"request_id": ["replay:2021-02:0"], "actual_minutes": [-3.0]}).to_csv(negative, index=False)
    with pytest.raises(InvalidInputError, match="1 negative actual_minutes"):
        service.ingest(str(negative))
    assert {r.request_id: r.actual_minutes for r in store.labeled(tc.settings.model_name)} == before

    good = tmp_path / "good.csv"
    pd.DataFrame({"request_id": ["replay:2021-02:0"], "actual_minutes": [42.0]}).to_csv(good, index=False)
    assert service.ingest(str(good)).rows == 1
    labeled = {r.request_id: r.actual_minutes for r in store.labeled(tc.settings.model_name)}
    assert labeled["replay:2021-02:0"] == 42.0


def test_cli_feedback_report_json_and_one_line_errors(
    champion: tuple[Tripcast, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.cli.app import app

    tc, version = champion
    tc.feedback.service.replay(Month(2021, 2))
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tc.settings.data_dir))
    runner = CliRunner()
    result = runner.invoke(app, ["feedback", "report", "--json", "--window", "week"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["by_version"][0]["model_version"] == version and payload["window"] == "week"
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,actual_minutes\nnobody,3\n")
    result = runner.invoke(app, ["feedback", "ingest", "--source", str(bad)])
    assert result.exit_code != 0
    assert "unknown request id" in result.output and "Traceback" not in result.output

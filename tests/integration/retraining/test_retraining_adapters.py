"""Retraining's adapters for real: the run-state store on SQLite and PostgreSQL, the policy files of every
environment (and a bad one), the alerter's log channel, and the CLI's one-line refusals on real data
(a month with no valid rows, a second concurrent run) that change nothing."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripcast.core.domain.errors import InvalidInputError, TripcastError
from tripcast.core.domain.retraining import Alert, DecisionMode, GuardScope, RetrainRun, RetrainStage, TriggerResult
from tripcast.mlops.retraining.policy import load_policy
from tripcast.mlops.retraining.store import SqlRunStateStore
from tripcast.observability.alerting.alertmanager import AlertmanagerGateway
from tripcast.observability.alerting.retraining import AlertmanagerAlerter

ENVIRONMENTS = Path(__file__).resolve().parents[3] / "environments"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_run_state_round_trips_upserts_and_lists_newest_month_first(store_url: str) -> None:
    store = SqlRunStateStore(store_url)
    trigger = TriggerResult("schedule", True, "2021-03 arrived", {"last": "2021-02"})
    run = RetrainRun(
        "m", "2021-03", RetrainStage.TRAINED, T0, T0, "ci", (trigger,), ("2021-01", "2021-02"), 80_000, "7"
    )
    store.save(run)
    store.save(RetrainRun("m", "2021-02", RetrainStage.DECIDED, T0, T0, "ci", decision="promoted"))
    store.save(RetrainRun("other", "2021-04", RetrainStage.STARTED, T0, T0, "ci"))
    assert store.get("m", "2021-03") == run
    decided = run.at(RetrainStage.DECIDED, T0, decision="champion_kept", challenger_metrics={"rmse": 5.0})
    store.save(decided)  # the same (model, month): replaced, not duplicated
    assert store.get("m", "2021-03") == decided
    assert [r.month for r in store.runs("m")] == ["2021-03", "2021-02"]
    assert store.get("m", "2021-05") is None
    store.close()


def test_every_environment_has_a_valid_policy_naming_itself() -> None:
    policies = {p.parent.name: load_policy(p) for p in ENVIRONMENTS.glob("*/retraining_policy.yaml")}
    assert set(policies) == {"local", "development", "staging", "production"}
    assert all(policy.environment == env for env, policy in policies.items())
    assert policies["local"].decision is DecisionMode.AUTO_PROMOTE and policies["local"].guard_scope is GuardScope.ANY
    assert policies["production"].decision is DecisionMode.REQUEST_APPROVAL


def test_a_bad_policy_file_names_each_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "retraining_policy.yaml"
    bad.write_text("environment: local\nwindow_months: 0\ndecision: yolo\ntriggers: {live_error: {max_ratio: 0.5}}\n")
    with pytest.raises(InvalidInputError) as caught:
        load_policy(bad)
    message = str(caught.value)
    for field in ("window_months", "decision", "triggers.live_error.max_ratio"):
        assert field in message


def test_the_alerter_logs_and_says_when_alertmanager_did_not_take_it(caplog: pytest.LogCaptureFixture) -> None:
    """Alertmanager down (nothing listens): the alert is still in the log, and the error says where it is."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    alert = Alert("RetrainGuardrailRollback", "critical", "v3 rolled back to v2", "model:m/3", {"model": "m"}, 9.5)
    with caplog.at_level(logging.WARNING, logger="tripcast.alerts"), pytest.raises(TripcastError) as refused:
        AlertmanagerAlerter(AlertmanagerGateway(down, timeout=1)).send(alert)
    assert "v3 rolled back to v2" in caplog.text and "RetrainGuardrailRollback" in caplog.text
    assert "the alert is in the log, but Alertmanager did not take it" in str(refused.value)


def _runner_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("TRIPCAST_DATA_DIR", "TRIPCAST_HOME", "TRIPCAST_ENV", "TRIPCAST_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_a_month_with_no_valid_rows_is_one_line_and_changes_nothing(
    shared_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.cli.app import app

    runner = _runner_in(tmp_path, monkeypatch)
    # January's trips under April's name: every row is outside the month, so validation keeps none.
    wrong = tmp_path / "incoming" / "green_tripdata_2021-04.parquet"
    wrong.parent.mkdir()
    shutil.copy(shared_data_dir / "green_tripdata_2021-01.parquet", wrong)
    result = runner.invoke(app, ["retrain", "run", "--month", "2021-04", "--source", str(wrong), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "2021-04 has no valid rows" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    status = runner.invoke(app, ["retrain", "status", "--json"])
    assert status.exit_code == 0 and '"runs": []' in status.stdout
    assert not (tmp_path / "data" / "mlartifacts").exists() or not any(
        (tmp_path / "data" / "mlartifacts").rglob("MLmodel")
    )


def test_a_second_concurrent_run_is_refused_in_one_line_naming_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tripcast.bootstrap import bootstrap
    from tripcast.cli.app import app
    from tripcast.core.services.retraining import retrain_lock
    from tripcast.settings import Settings

    runner = _runner_in(tmp_path, monkeypatch)
    tc = bootstrap(Settings(), allow_download=False)
    with tc.registry_locks.hold(retrain_lock(tc.settings.model_name), "tripcast retrain run --month 2021-03 by ci"):
        result = runner.invoke(app, ["retrain", "run", "--month", "2021-03"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "retrain-trip-duration" in result.stderr and "held by" in result.stderr
    assert "tripcast retrain run --month 2021-03 by ci" in result.stderr


def test_watch_once_without_data_says_so_in_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tripcast.cli.app import app

    runner = _runner_in(tmp_path, monkeypatch)
    result = runner.invoke(app, ["retrain", "watch", "--once", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"decision": "no_data", "detail": "no month with data on hand"}

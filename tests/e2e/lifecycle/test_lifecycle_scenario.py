"""THE lifecycle scenario (issue #13 "Done when"): time walks forward over the shared green months.

2021-02 arrives: the first challenger (trained on 2021-01) becomes champion. 2021-03 arrives: the triggers
fire, a challenger trained on the window 2021-01..2021-02 is measured against the champion on 2021-03 and
promoted by the local policy. Then a deliberately bad version is forced into production; the feedback
replay of 2021-03 shows its live error, and `tripcast retrain guard` rolls it back and alerts. The ledger,
the audit trail and a model card tell the story. Every step is the CLI a user runs (default settings in a
temporary working directory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tripcast.cli.app import app

MODEL = "trip-duration"


def cli(*args: str) -> Any:
    """Run ``tripcast ARGS``; parse stdout as JSON when ``--json`` is given (stdout must be only JSON)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"tripcast {' '.join(args)} failed:\n{result.output}"
    return json.loads(result.stdout) if "--json" in args else result.stdout


def register_bad_version(data_dir: Path, shared: Path) -> str:
    """A deliberately bad model (one boosting round on 500 January trips), registered like any version."""
    from tripcast.bootstrap import bootstrap
    from tripcast.core.domain.month import Month
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer
    from tripcast.settings import Settings

    tc = bootstrap(Settings(data_dir=data_dir), local_source=shared, allow_download=False)
    trips = tc.store.load_processed(Month(2021, 1)).head(500)
    data = tc.features.training_set(trips, "2021-01-head500")
    model = LightGBMTrainer(tc.features.spec, num_boost_round=1).fit(data, data)
    validation = tc.metrics.evaluate(
        model, tc.features.training_set(tc.store.load_processed(Month(2021, 3)), "2021-03")
    )
    with tc.tracker.start_run("deliberately-bad") as run:
        uri = run.log_model(model, tc.features.spec, data)
    tags = {"valid_month": "2021-03", "train_month": "2021-01", "val_rmse": f"{validation.metric('rmse'):.6g}"}
    return tc.registry.register(uri, MODEL, tags=tags).version


def test_retraining_walks_the_months_and_the_guardrail_rolls_back_a_bad_champion(
    shared_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # default, relative settings: data/ under the working directory
    for name in ("TRIPCAST_DATA_DIR", "TRIPCAST_HOME", "TRIPCAST_ENV", "TRIPCAST_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    shared = str(shared_data_dir)

    # 2021-02 arrives: no champion yet; the challenger trained on 2021-01 is measured on 2021-02 and promoted.
    february = cli("retrain", "run", "--month", "2021-02", "--source", shared, "--json")
    assert february["decision"] == "promoted" and february["window"] == ["2021-01"]
    fired = {t["name"]: t for t in february["triggers"] if t["fired"]}
    assert "schedule" in fired and fired["schedule"]["why"]
    assert february["evaluation_data"]["month"] == "2021-02" and february["evaluation_data"]["rows"] > 50_000
    first = february["challenger_version"]
    assert 3.0 < february["challenger_metrics"]["rmse"] < 8.0

    # Rerunning a decided month returns the recorded decision: no new version.
    again = cli("retrain", "run", "--month", "2021-02", "--source", shared, "--json")
    assert again["reused"] is True and again["challenger_version"] == first

    # 2021-03 arrives: triggers fire, the challenger trains on 2021-01..2021-02; both measured on 2021-03.
    march = cli("retrain", "run", "--month", "2021-03", "--source", shared, "--json")
    assert march["window"] == ["2021-01", "2021-02"]
    assert {t["name"] for t in march["triggers"] if t["fired"]} >= {"schedule", "new_data"}
    assert march["champion_version"] == first and march["challenger_version"] != first
    assert march["evaluation_data"]["month"] == "2021-03"
    assert set(march["champion_metrics"]) == set(march["challenger_metrics"]) >= {"rmse", "mae"}
    assert march["decision"] in {"promoted", "champion_kept"}
    good = march["challenger_version"] if march["decision"] == "promoted" else first
    if march["decision"] == "promoted":
        assert march["challenger_metrics"]["rmse"] < march["champion_metrics"]["rmse"]

    # A forced bad promotion, then ground truth: the feedback replay of 2021-03 runs through the bad champion.
    bad = register_bad_version(tmp_path / "data", shared_data_dir)
    cli("promote", "--version", bad, "--force", "--reason", "forced: hotfix that skipped review")
    replay = cli("feedback", "ingest", "--month", "2021-03", "--trips", shared, "--json")
    assert replay["predictions_logged"] > 50_000

    verdict = cli("retrain", "guard", "--json")
    assert verdict["action"] == "rolled_back", verdict
    assert verdict["champion"] == bad and verdict["previous"] == good
    assert verdict["evidence"]["live_rmse"] > verdict["evidence"]["limit"]
    assert cli("retrain", "guard", "--json")["action"] == "skipped"  # the newest move is now the rollback

    # The ledger tells the story, oldest first.
    rows = cli("models", "history", "--json")["entries"]
    champion_rows = [r for r in rows if r["alias"] == "champion"]
    reasons = [r["reason"] for r in champion_rows]
    assert reasons[0].startswith("retrain 2021-02: ") and "schedule" in reasons[0]
    if good != first:
        assert reasons[1].startswith("retrain 2021-03: ")
    assert reasons[-2].startswith("forced: ")
    assert reasons[-1].startswith("rollback: guardrail: ") and champion_rows[-1]["to_version"] == good

    # The audit trail: two decisions, the rollback and the alert.
    from tripcast.bootstrap import bootstrap
    from tripcast.settings import Settings

    audit = bootstrap(Settings(data_dir=tmp_path / "data"), allow_download=False).audit
    actions = [e.action for e in audit.events(f"model:{MODEL}/", limit=1000)]
    assert actions.count("retrain.decided") == 2
    assert "retrain.guardrail_alert" in actions and "model.rolled_back" in actions

    # The model card of the restored champion: its window, its data and its place in the ledger.
    card = cli("models", "card", good, "--source", shared, "--json")
    markdown = Path(card["files"]["model_card.md"]).read_text(encoding="utf-8")
    assert "guardrail" in markdown and "retrain 2021-0" in markdown
    if good != first:
        assert "2021-01..2021-02" in markdown

    status = cli("retrain", "status", "--json")
    assert [r["month"] for r in status["runs"]] == ["2021-03", "2021-02"]

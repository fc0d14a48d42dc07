"""``tripcast models card``: wired by the root, run through the real CLI on a registry trained on real months."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tripcast.bootstrap import bootstrap, load_settings
from tripcast.cli.app import app
from tripcast.core.domain.model_card import CARD_MARKDOWN, CARD_WRITTEN
from tripcast.core.domain.month import Month
from tripcast.core.services.training import TrainingPlan


@pytest.fixture()
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processed_month: Callable[[str], pd.DataFrame]) -> None:
    """A local Tripcast home with three processed months and one registered, promoted version."""
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    tc = bootstrap(load_settings(), allow_download=False)
    for month, rows in (("2021-01", 5000), ("2021-02", 2000), ("2021-03", 1000)):
        tc.store.save_processed(Month.parse(month), processed_month(month).head(rows))
    plan = TrainingPlan.consecutive(Month(2021, 1), tc.settings.model_name)
    version = tc.ml.training.train_and_register(plan, actor="pytest").version
    tc.ml.promotion.promote(tc.ml.promotion.candidate(plan.model_name, version.version), actor="pytest", reason="t")


def test_card_command_writes_both_files_and_stores_them(registered: None, tmp_path: Path) -> None:
    out = tmp_path / "cards"

    result = CliRunner().invoke(app, ["models", "card", "champion", "--out", str(out), "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["version"] == "1" and summary["rows"] == 2000 and summary["evaluation_month"] == "2021-02"
    assert summary["previous_champion"] is None
    markdown = (out / "trip-duration-v1.md").read_text()
    assert markdown.startswith("# Model card: trip-duration v1") and "No previous champion" in markdown
    assert "<svg" in (out / "trip-duration-v1.html").read_text()
    assert summary["artifacts"][CARD_MARKDOWN].endswith("/model_card/v1/model_card.md")
    tc = bootstrap(load_settings())
    assert [e.action for e in tc.audit.events(actions=[CARD_WRITTEN])] == [CARD_WRITTEN]


def test_unknown_version_is_one_line_and_writes_nothing(registered: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["models", "card", "7", "--out", str(tmp_path / "cards")])

    assert result.exit_code == 1
    assert (
        result.output.strip() == "error: version 7 does not exist on trip-duration; versions: 1; aliases: champion->1"
    )
    assert not (tmp_path / "cards").exists()
    assert bootstrap(load_settings()).audit.events(actions=[CARD_WRITTEN]) == []


def test_models_alone_still_lists_the_versions(registered: None) -> None:
    result = CliRunner().invoke(app, ["models"])

    assert result.exit_code == 0, result.output
    assert "champion" in result.output and "2021-01" in result.output

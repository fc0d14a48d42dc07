"""``tripcast drift decay``: logged predictions joined to outcomes, judged against the validation RMSE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tripcast.cli.monitoring import app


def write_tables(folder: Path, error_scale: float) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ids = [f"r{i}" for i in range(3000)]
    actual = rng.uniform(5, 40, 3000)
    predictions = folder / "predictions.parquet"
    actuals = folder / "actuals.csv"
    pd.DataFrame({"request_id": ids, "prediction": actual + rng.normal(0, error_scale, 3000)}).to_parquet(predictions)
    pd.DataFrame({"request_id": ids, "actual": actual}).to_csv(actuals, index=False)
    return predictions, actuals


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


def decay(*args: str) -> object:
    return CliRunner().invoke(app, ["drift", "decay", *args])


def test_live_error_like_validation_is_no_decay(tmp_path: Path) -> None:
    predictions, actuals = write_tables(tmp_path, error_scale=4.0)
    result = decay("--predictions", str(predictions), "--actuals", str(actuals), "--validation-rmse", "4")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "3,000 predictions joined" in result.output and "no decay" in result.output  # type: ignore[attr-defined]


def test_live_error_far_above_validation_fails(tmp_path: Path) -> None:
    predictions, actuals = write_tables(tmp_path, error_scale=8.0)
    result = decay("--predictions", str(predictions), "--actuals", str(actuals), "--validation-rmse", "4")
    assert result.exit_code == 1 and "model decayed" in result.output  # type: ignore[attr-defined]


def test_bad_inputs_are_one_clear_line(tmp_path: Path) -> None:
    predictions, actuals = write_tables(tmp_path, error_scale=4.0)
    missing = decay(
        "--predictions", str(tmp_path / "nope.parquet"), "--actuals", str(actuals), "--validation-rmse", "4"
    )
    assert missing.exit_code != 0 and "nope.parquet" in missing.output and "Traceback" not in missing.output  # type: ignore[attr-defined]
    wrong_key = decay(
        "--predictions", str(predictions), "--actuals", str(actuals), "--validation-rmse", "4", "--key", "id"
    )
    assert wrong_key.exit_code != 0 and "predictions.id" in wrong_key.output  # type: ignore[attr-defined]
    no_model = decay("--predictions", str(predictions), "--actuals", str(actuals))
    assert no_model.exit_code != 0 and "Traceback" not in no_model.output  # type: ignore[attr-defined]

"""``tripcast pipeline run`` through Typer: a table of steps on success, one red line and exit 1 on bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from tripcast.cli.pipeline import app

runner = CliRunner()


def test_cli_runs_a_month_then_skips_it(shared_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    first = runner.invoke(app, ["run", "--month", "2021-02", "--source", str(shared_data_dir)])
    assert first.exit_code == 0, first.output
    assert "transform" in first.output and "trips_enriched=61,894" in first.output
    second = runner.invoke(app, ["run", "--month", "2021-02", "--source", str(shared_data_dir)])
    assert second.exit_code == 0
    assert second.output.count("skipped") == 5


def test_cli_bad_month_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["run", "--month", "2021/02"])
    assert result.exit_code == 1
    assert "month" in result.output and "YYYY-MM" in result.output
    assert "Traceback" not in result.output


def test_cli_missing_month_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["run", "--month", "2021-05", "--source", str(tmp_path)])
    assert result.exit_code == 1
    assert "2021-05" in result.output

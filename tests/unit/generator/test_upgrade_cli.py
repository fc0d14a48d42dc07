"""``tripcast upgrade``: the report as a table, exit 1 naming each conflict, one clear line on bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from support.generator_fakes import fake_render, generate, write_source
from tripcast.cli.app import app
from tripcast.generator import render
from tripcast.generator.manifest import read_manifest
from tripcast.levels import Level

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "render_project", fake_render)
    monkeypatch.setenv("COLUMNS", "200")
    return generate(write_source(tmp_path / "source"), tmp_path / "project")


def invoke(*args: str):
    return runner.invoke(app, ["upgrade", *args, "--no-lock"])


def test_a_clean_upgrade_prints_the_table_and_exits_0(project):
    (project / "docs/notes.md").write_text("my notes\n")
    result = invoke("--level", "advanced", "--project", str(project))
    assert result.exit_code == 0, result.output
    assert "upgrade beginner -> advanced" in result.output
    assert "added" in result.output and "pipelines/run.py" in result.output
    assert read_manifest(project).level is Level.ADVANCED


def test_conflicts_exit_1_naming_each_file(project):
    (project / "config.txt").write_text("x\ny = mine\nz\n")
    (project / "assets/logo.bin").write_bytes(b"\0mine")
    result = invoke("--level", "intermediate", "--project", str(project))
    assert result.exit_code == 1
    assert "2 conflict(s) to resolve: assets/logo.bin, config.txt" in result.output
    assert "assets/logo.bin.upgrade-new" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "wizard"], "--level 'wizard': expected one of beginner, intermediate, advanced, expert"),
        (["--level", "beginner"], "--level beginner: the project is already at beginner"),
        (["--level", "expert", "--source", "/nonexistent/source"], "--source /nonexistent/source: not found"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(project, args, message):
    result = invoke(*args, "--project", str(project))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert read_manifest(project).level is Level.BEGINNER


def test_a_folder_that_was_not_generated_is_named(tmp_path):
    result = invoke("--level", "expert", "--project", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path}/.mlops-structure.json: not found" in result.output

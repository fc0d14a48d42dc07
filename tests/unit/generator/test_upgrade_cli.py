"""``tripcast upgrade``: the report as a table, exit 1 naming each conflict, one clear line on bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from support.generator_fakes import fake_render, generate, write_source
from tripcast.cli import upgrade as upgrade_command
from tripcast.generator import render
from tripcast.generator.manifest import read_manifest
from tripcast.generator.upgrade_report import UpgradeReport, format_report
from tripcast.levels import Level

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "render_project", fake_render)
    monkeypatch.setenv("COLUMNS", "200")
    return generate(write_source(tmp_path / "source"), tmp_path / "project")


def invoke(*args: str):
    return runner.invoke(upgrade_command.app, [*args, "--no-lock"])


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


def test_tripcast_registers_the_command():
    from tripcast.cli.app import app

    assert "upgrade" in [command.name for command in app.registered_commands]


def test_the_plain_text_report_lists_conflicts_and_counts_long_lists_per_folder():
    report = UpgradeReport(
        added=[f"src/pkg/api/m{i}.py" for i in range(25)] + ["Makefile"],
        merged=["README.md"],
        conflicts=["config.txt"],
        warnings=["the base differs"],
        from_level=Level.BEGINNER,
        to_level=Level.INTERMEDIATE,
    )
    lines = format_report(report).splitlines()
    assert lines[0] == "upgrade beginner -> intermediate: 1 conflict, 1 merged, 26 added"
    assert "  conflict   config.txt" in lines and "  merged     README.md" in lines
    assert "  added      src/pkg/api/ (25 files)" in lines and "  added      ./ (1 file)" in lines
    assert lines[-2:] == ["warning: the base differs", "1 conflict(s) to resolve: config.txt"]


def test_a_failed_marker_proof_is_loud_without_a_traceback(project, monkeypatch):
    from tripcast.generator import upgrade as upgrade_module

    def unreported(*args, **kwargs):
        raise upgrade_module.UnreportedMarkerError("conflict markers in files the upgrade did not report: x.py")

    monkeypatch.setattr(upgrade_module, "prove_no_unreported_marker", unreported)
    result = invoke("--level", "intermediate", "--project", str(project))
    assert result.exit_code == 3 and "x.py; this is a bug of the upgrade" in result.output
    assert "Traceback" not in result.output and read_manifest(project).level is Level.BEGINNER

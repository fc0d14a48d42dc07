"""``python create_mlops_structure.py`` as a user runs it: standard library only (``-I -S``: no site-packages),
``--list``, ``--dry-run``, a real generation, and one clear line with exit status 2 for each bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-I", "-S", str(REPO / "create_mlops_structure.py"), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_list_shows_every_level_and_type_with_folders():
    done = run("--list")
    assert done.returncode == 0, done.stderr
    for word in ("beginner", "intermediate", "advanced", "expert", "academic", "webapp", "service", "genai"):
        assert word in done.stdout
    assert "enterprise    all folders" in done.stdout
    assert "expert        folders: .ci, DOCS, data, data_engineering" in done.stdout


def test_dry_run_prints_one_reason_per_folder_and_writes_nothing(tmp_path):
    done = run("--project-name", "my-ml-project", "--type", "academic", "--dry-run", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("my-ml-project/  (beginner, academic: ")
    reasons = {line.split()[0]: line for line in lines[1:]}
    assert "hexagonal architecture" in reasons["src/"] and "testing strategy" in reasons["tests/"]
    assert "src/my_ml_project/core/" in reasons
    assert reasons["data/"].endswith("(empty at this level)")  # the guide's data/: untracked, made on demand
    assert not {"frontend/", "observability/", "deployment/"} & set(reasons)  # not an academic project's
    assert list(tmp_path.iterdir()) == []


def test_generation_writes_the_project_its_manifest_and_a_first_commit(tmp_path):
    done = run("--project-name", "taxi-eta", "--level", "beginner", "--type", "academic", "--output", str(tmp_path),
               "--no-lock")  # fmt: skip
    assert done.returncode == 0, done.stderr
    project = tmp_path / "taxi-eta"
    assert f"created {project}" in done.stdout
    manifest = json.loads((project / ".mlops-structure.json").read_text())
    assert (manifest["level"], manifest["project_type"], manifest["import_name"]) == (
        "beginner",
        "academic",
        "taxi_eta",
    )
    assert manifest["source_path"] == str(REPO)
    assert (project / "src/taxi_eta/core").is_dir() and not (project / "uv.lock").exists()
    assert (project / ".ci/run").stat().st_mode & 0o111
    assert [p.name for p in tmp_path.iterdir()] == ["taxi-eta"]  # no staging folder left
    log = subprocess.run(["git", "-C", str(project), "status", "--porcelain"], capture_output=True, text=True)
    assert log.returncode == 0 and log.stdout == ""  # everything committed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project-name", "ok-name", "--level", "guru"], "--level 'guru': expected one of beginner"),
        (["--project-name", "ok-name", "--type", "mobile"], "--type 'mobile': expected one of academic"),
        (["--project-name", "my project"], "--project-name 'my project': use lower-case"),
        (["--project-name", "1st-project"], "--project-name '1st-project': use lower-case"),
        (["--project-name", "class"], "'class' is a Python keyword or standard library module"),
        (["--project-name", "json"], "'json' is a Python keyword or standard library module"),
        (["--project-name", "mlflow"], "'mlflow' is a dependency's name; the package would shadow it"),
        (["--project-name", "tests"], "'tests' is a root folder of the project"),
        ([], "--project-name is required"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, message):
    done = run(*args, "--output", str(tmp_path))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_output_is_refused_and_left_alone(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    done = run("--project-name", "taken", "--output", str(tmp_path), "--no-lock")
    assert done.returncode == 2
    assert "already exists and is not empty" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_upgrade_dispatches_to_upgrade_project_and_exits_1_on_conflicts(tmp_path, monkeypatch, capsys):
    from tripcast.generator import command, upgrade
    from tripcast.levels import Level

    calls = []

    def fake_upgrade(project_dir, target_level, source=None):
        calls.append((project_dir, target_level, source))
        return upgrade.UpgradeReport(added=["observability/x.yml"], conflicts=["README.md"])

    monkeypatch.setattr(upgrade, "upgrade_project", fake_upgrade)
    status = command.main(REPO, ["upgrade", "--level", "advanced", "--project", str(tmp_path)])
    assert (status, calls) == (1, [(tmp_path, Level.ADVANCED, None)])
    out = capsys.readouterr().out
    assert "added: 1\n    observability/x.yml" in out and "conflicts: 1\n    README.md" in out


def test_upgrade_to_an_unknown_level_is_one_line_and_exit_2(tmp_path, capsys):
    from tripcast.generator import command

    assert command.main(REPO, ["upgrade", "--level", "guru", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "error: --level 'guru': expected one of beginner, intermediate, advanced, expert\n"


def test_the_cli_new_command_generates_lists_and_refuses_bad_input(tmp_path):
    from typer.testing import CliRunner

    from tripcast.cli.app import app

    listed = CliRunner().invoke(app, ["new", "--list", "--source", str(REPO)])
    assert listed.exit_code == 0 and "enterprise    all folders" in listed.output
    bad = CliRunner().invoke(app, ["new", "--project-name", "x y", "--output", str(tmp_path)])
    assert bad.exit_code == 2 and bad.output.startswith("error: --project-name 'x y'")
    made = CliRunner().invoke(
        app, ["new", "--project-name", "cli-made", "--type", "academic", "--output", str(tmp_path), "--no-lock",
              "--source", str(REPO)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (tmp_path / "cli-made" / ".mlops-structure.json").is_file()
    assert list(tmp_path.iterdir()) == [tmp_path / "cli-made"]


def test_a_failed_upgrade_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from tripcast.generator import command, upgrade

    def broken(project_dir, target_level, source=None):
        raise RuntimeError("git merge-file failed on README.md")

    monkeypatch.setattr(upgrade, "upgrade_project", broken)
    assert command.main(REPO, ["upgrade", "--level", "expert", "--project", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: git merge-file failed on README.md\n"

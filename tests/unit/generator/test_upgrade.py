"""upgrade_project with a fake renderer over tmp_path: every outcome of the three-way merge, and bad input."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

import tripcast.generator as generator_package
import tripcast.levels as levels_module
from support import generator_fakes
from support.generator_fakes import CLOSE, OPEN, SPLIT, A, B, I, fake_render, generate, write_source
from tripcast.generator import render as render_module
from tripcast.generator.manifest import ManifestError, digest, read_manifest
from tripcast.generator.upgrade import (
    DIRTY_WARNING,
    UnreportedMarkerError,
    UpgradeError,
    UpgradeReport,
    prove_no_unreported_marker,
    upgrade_project,
)
from tripcast.levels import Level


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    source = write_source(tmp_path / "source")
    return source, generate(source, tmp_path / "project")


def upgrade(project: Path, level: Level, **kwargs) -> UpgradeReport:
    return upgrade_project(project, level, render=fake_render, lock=False, **kwargs)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_user_edit_kept_and_upstream_only_change_taken(world):
    _, project = world
    edit(project / "docs/notes.md", "notes", "my notes")
    report = upgrade(project, I)
    assert (project / "docs/notes.md").read_text() == "my notes\n"  # changed by the user only
    assert (project / "core/service.py").read_text().endswith("f = 6\ng = 7\n")  # changed upstream only
    assert "core/service.py" in report.updated and "docs/notes.md" not in report.updated + report.merged
    assert (project / "assets/icon.bin").read_bytes() == b"\x89PNG\0icon" + bytes([2])  # binary, upstream only
    assert report.conflicts == []


def test_both_changed_apart_merge_cleanly(world):
    _, project = world
    edit(project / "core/service.py", "a = 1", "a = 100")
    report = upgrade(project, I)
    assert (project / "core/service.py").read_text() == "a = 100\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\n"
    assert report.merged == ["core/service.py"] and report.conflicts == []


def test_both_changed_same_lines_conflict_with_markers_in_that_file_only(world):
    _, project = world
    edit(project / "core/service.py", "a = 1", "a = 100")
    edit(project / "config.txt", "y\n", "y = mine\n")
    report = upgrade(project, I)
    assert report.conflicts == ["config.txt"]
    text = (project / "config.txt").read_text()
    assert text == f"x\n{OPEN} yours\ny = mine\n{SPLIT}\ny\nnew\n{CLOSE} upgrade (intermediate)\nz\n"
    for other in ("core/service.py", "README.md", "pyproject.toml"):
        assert OPEN not in (project / other).read_text()


def test_file_deleted_by_user_stays_deleted_and_is_reported(world):
    _, project = world
    (project / "core/old.py").unlink()
    report = upgrade(project, I)
    assert report.deleted_by_user == ["core/old.py"]
    assert not (project / "core/old.py").exists()


def test_binary_conflict_keeps_ours_and_writes_theirs_beside_it(world):
    _, project = world
    (project / "assets/logo.bin").write_bytes(b"\x89PNG\0my logo")
    report = upgrade(project, I)
    assert report.conflicts == ["assets/logo.bin"] and report.upgrade_new == ["assets/logo.bin.upgrade-new"]
    assert (project / "assets/logo.bin").read_bytes() == b"\x89PNG\0my logo"
    assert (project / "assets/logo.bin.upgrade-new").read_bytes() == b"\x89PNG\0logo" + bytes([2])


def test_new_files_added_and_a_user_file_at_their_path_conflicts(world):
    _, project = world
    report = upgrade(project, I)
    assert "api/routes.py" in report.added and (project / "api/routes.py").read_text() == "route = 1\n"
    assert not (project / "pipelines").exists()  # advanced, not reached
    (project / "pipelines").mkdir()
    (project / "pipelines/run.py").write_text("mine = 2\n")
    report = upgrade(project, A)
    assert report.conflicts == ["pipelines/run.py"]
    assert f"{OPEN} yours\nmine = 2\n{SPLIT}\nrun = 1\n{CLOSE}" in (project / "pipelines/run.py").read_text()


def test_manifest_records_the_new_level_and_theirs_hashes_and_next_upgrade_merges_from_it(world):
    _, project = world
    edit(project / "README.md", "intro", "my intro")
    upgrade(project, I)
    manifest = read_manifest(project)
    assert manifest.level is I
    assert manifest.files["README.md"] == digest(b"# demo-app\n\nintro\n\n")  # theirs, not the user's bytes
    report = upgrade(project, A)
    assert (project / "README.md").read_text() == "# demo-app\n\nmy intro\n\nmore\n"
    assert report.merged == ["README.md"] and read_manifest(project).level is A


def test_removed_upstream_removed_only_when_the_user_did_not_change_it(world):
    source, project = world
    edit(project / "core/old.py", "old = 1", "old = 10")
    (source / "core/old.py").unlink()
    (source / "docs/notes.md").unlink()
    report = upgrade(project, I)
    assert report.removed == ["docs/notes.md"] and not (project / "docs").exists()
    assert report.kept_removed_upstream == ["core/old.py"] and (project / "core/old.py").exists()
    assert "core/old.py" not in read_manifest(project).files
    assert any("does not reproduce 2 generated file(s)" in warning for warning in report.warnings)


def test_base_comes_from_the_recorded_commit_of_a_git_source(tmp_path):
    source = write_source(tmp_path / "source")
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    project = generate(source, tmp_path / "project")
    edit(project / "core/service.py", "a = 1", "a = 100")
    edit(source / "core/service.py", "e = 5", "e = 50")
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    report = upgrade(project, I)
    # Rendered from the source as it is now, the base would hold e = 50 and the merge would undo the change.
    assert (project / "core/service.py").read_text() == "a = 100\nb = 2\nc = 3\nd = 4\ne = 50\nf = 6\ng = 7\n"
    assert report.warnings == [] and report.merged == ["core/service.py"]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert read_manifest(project).source_version == head


def test_pyproject_change_relocks_and_records_the_lock(world, tmp_path, monkeypatch):
    _, project = world
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "uv").write_text('#!/bin/sh\n[ "$1" = lock ] && echo locked > uv.lock\n')
    (fake_bin / "uv").chmod(0o755)
    monkeypatch.setenv("UV", str(fake_bin / "uv"))  # what `uv run` sets
    report = upgrade_project(project, I, render=fake_render)
    assert report.relocked and (project / "uv.lock").read_text() == "locked\n"
    assert read_manifest(project).files["uv.lock"] == digest(b"locked\n")


def test_writes_keep_the_mode_and_new_scripts_are_executable(world):
    source, project = world
    (source / "api/start.sh").write_text("#!/bin/sh\necho start\n")
    (project / "run.sh").chmod(0o700)
    edit(source / "run.sh", "echo hi", "echo hello")
    upgrade(project, I)
    assert stat.S_IMODE((project / "run.sh").stat().st_mode) == 0o700
    assert os.access(project / "api/start.sh", os.X_OK)


def test_the_current_level_as_target_is_refused(world):
    _, project = world
    before = read_manifest(project)
    with pytest.raises(UpgradeError, match="--level beginner: the project is already at beginner"):
        upgrade(project, B)
    assert read_manifest(project) == before


def test_lower_target_is_refused_naming_the_levels(world):
    _, project = world
    upgrade(project, A)
    with pytest.raises(UpgradeError, match=r"--level intermediate: the project is already at advanced.*expert"):
        upgrade(project, I)


def test_a_folder_without_manifest_is_refused_naming_the_path(tmp_path):
    with pytest.raises(ManifestError, match=re.escape(str(tmp_path / ".mlops-structure.json")) + ": not found"):
        upgrade(tmp_path, I)


def test_a_missing_source_is_refused(world, tmp_path):
    _, project = world
    with pytest.raises(UpgradeError, match=f"--source {tmp_path / 'gone'}: not found"):
        upgrade(project, I, source=tmp_path / "gone")


def test_unresolved_markers_or_a_pending_binary_refuse_the_upgrade_before_any_write(world):
    _, project = world
    (project / "docs/notes.md").write_text(f"{OPEN} yours\na\n{SPLIT}\nb\n{CLOSE} theirs\n")
    (project / "assets/logo.bin.upgrade-new").write_bytes(b"x")
    with pytest.raises(UpgradeError, match=r"docs/notes.md \(conflict markers\), assets/logo.bin.upgrade-new"):
        upgrade(project, I)
    assert not (project / "api").exists() and read_manifest(project).level is B


def test_the_scan_fails_loudly_on_a_marker_the_report_does_not_name(tmp_path):
    (tmp_path / "a.txt").write_text(f"x\n{CLOSE} upgrade\n")
    (tmp_path / "b.txt").write_text(f"{OPEN} yours\n")
    with pytest.raises(UnreportedMarkerError, match=r"a\.txt$"):
        prove_no_unreported_marker(tmp_path, UpgradeReport(conflicts=["b.txt"]), {})
    prove_no_unreported_marker(tmp_path, UpgradeReport(conflicts=["b.txt"]), {"a.txt": 1})  # as generated


def _source_with_its_own_generator(root: Path, render_code: str) -> Path:
    """A source whose src/othergen/generator is this generator renamed, its render_project ``render_code``."""
    source = write_source(root)
    package = source / "src" / "othergen"
    (package / "generator").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for module in Path(generator_package.__file__).parent.glob("*.py"):
        (package / "generator" / module.name).write_text(module.read_text().replace("tripcast", "othergen"))
    (package / "levels.py").write_text(Path(levels_module.__file__).read_text().replace("tripcast", "othergen"))
    (package / "generator" / "render.py").write_text(render_code.replace("tripcast", "othergen"))
    return source


def test_the_sources_own_generator_runs_the_upgrade_of_a_project_elsewhere(tmp_path, monkeypatch):
    fakes = Path(generator_fakes.__file__).read_text() + "\nrender_project = fake_render\n"
    source = _source_with_its_own_generator(tmp_path / "source", fakes)
    project = generate(source, tmp_path / "project")
    (project / "config.txt").write_text("x\ny = mine\nz\n")
    monkeypatch.setattr(render_module, "render_project", None)  # this generator's renderer must not run
    report = upgrade_project(project, I, lock=False)
    assert report.conflicts == ["config.txt"] and "api/routes.py" in report.added
    assert report.from_level is B and report.to_level is I and read_manifest(project).level is I


def test_a_failure_in_the_sources_generator_is_one_clear_error(tmp_path):
    code = "def render_project(source, options):\n    raise ValueError('cannot cut this source')\n"
    project = generate(_source_with_its_own_generator(tmp_path / "source", code), tmp_path / "project")
    with pytest.raises(UpgradeError, match=r"the source's generator \(.*\): cannot cut this source"):
        upgrade_project(project, I, lock=False)
    assert read_manifest(project).level is B


def test_uncommitted_changes_in_a_git_project_are_warned_about(world):
    _, project = world
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "generated"], check=True)
    assert DIRTY_WARNING not in upgrade(project, I).warnings
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "upgraded"], check=True)
    assert subprocess.run([*git, "status", "--porcelain"], capture_output=True, check=True).stdout == b""
    edit(project / "docs/notes.md", "notes", "my notes")
    assert DIRTY_WARNING in upgrade(project, A).warnings


def test_an_upgrade_interrupted_before_its_manifest_runs_again_to_the_same_result(world):
    _, project = world
    edit(project / "core/service.py", "a = 1", "a = 100")
    edit(project / "README.md", "intro", "my intro")
    old_manifest = (project / ".mlops-structure.json").read_bytes()
    first = upgrade(project, A)
    files = {path: (project / path).read_bytes() for path in ("core/service.py", "README.md", "api/routes.py")}
    (project / ".mlops-structure.json").write_bytes(old_manifest)  # as if it stopped before the manifest
    again = upgrade(project, A)
    assert first.merged == ["README.md", "core/service.py"] and again.conflicts == []
    assert {path: (project / path).read_bytes() for path in files} == files
    assert again.added == [] and read_manifest(project).level is A


@pytest.mark.parametrize("blocker", ["folder", "file above", "link"])
def test_something_the_upgrade_cannot_replace_is_refused_before_any_write(world, blocker):
    _, project = world
    if blocker == "folder":
        (project / "api/routes.py").mkdir(parents=True)
    elif blocker == "file above":
        (project / "api").write_text("mine\n")
    else:
        (project / "api").mkdir()
        (project / "api/routes.py").symlink_to(project / "docs/notes.md")
    with pytest.raises(UpgradeError, match=r"api/routes\.py: a link, a folder, or under a file"):
        upgrade(project, I)
    assert read_manifest(project).level is B and (project / "core/service.py").read_text().endswith("f = 6\n")

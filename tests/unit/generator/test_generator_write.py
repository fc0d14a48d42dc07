"""write_project: everything or nothing, the manifest of what was written, executables, the first commit."""

from __future__ import annotations

import subprocess

import pytest

from tripcast.generator import write
from tripcast.generator.manifest import digest, read_manifest
from tripcast.generator.options import ProjectOptions
from tripcast.generator.write import WriteError, write_project
from tripcast.levels import Level

FILES = {"README.md": b"# Demo\n", ".ci/run": b"#!/usr/bin/env bash\nmake test\n", "src/demo/__init__.py": b""}
OPTIONS = ProjectOptions("demo-proj", Level.INTERMEDIATE, "webapp")


def test_the_project_and_its_manifest_are_written(tmp_path):
    target = write_project(FILES, OPTIONS, tmp_path / "out", tmp_path, lock_dependencies=False, git=False)
    assert target == tmp_path / "out" / "demo-proj"
    assert (target / "README.md").read_bytes() == b"# Demo\n"
    assert (target / ".ci/run").stat().st_mode & 0o111 and not (target / "README.md").stat().st_mode & 0o111
    manifest = read_manifest(target)
    assert manifest.files == {path: digest(content) for path, content in FILES.items()}
    assert (manifest.level, manifest.project_type, manifest.import_name) == (Level.INTERMEDIATE, "webapp", "demo_proj")
    assert manifest.source_version == "unversioned"  # tmp_path is not a git checkout


def test_an_empty_existing_target_is_used(tmp_path):
    (tmp_path / "demo-proj").mkdir()
    assert write_project(FILES, OPTIONS, tmp_path, tmp_path, lock_dependencies=False, git=False).is_dir()


def test_a_failing_lock_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(folder):
        raise WriteError("uv lock failed in the generated project: no network")

    monkeypatch.setattr(write, "lock", broken)
    with pytest.raises(WriteError, match="uv lock failed"):
        write_project(FILES, OPTIONS, tmp_path / "out", tmp_path, git=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_the_lock_is_recorded_in_the_manifest_as_generated(tmp_path, monkeypatch):
    def fake_lock(folder):
        (folder / "uv.lock").write_bytes(b"version = 1\n")
        return b"version = 1\n"

    monkeypatch.setattr(write, "lock", fake_lock)
    target = write_project(FILES, OPTIONS, tmp_path, tmp_path, git=False)
    assert read_manifest(target).files["uv.lock"] == digest(b"version = 1\n")


def test_a_non_empty_target_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "demo-proj").mkdir()
    (tmp_path / "demo-proj" / "x").write_text("mine")
    with pytest.raises(WriteError, match="already exists and is not empty"):
        write_project(FILES, OPTIONS, tmp_path, tmp_path, lock_dependencies=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-proj"]


def test_the_first_commit_ignores_a_user_s_global_signing(tmp_path, monkeypatch):
    config = tmp_path / "gitconfig"
    config.write_text("[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    target = write_project(FILES, OPTIONS, tmp_path / "out", tmp_path, lock_dependencies=False)
    log = subprocess.run(["git", "-C", str(target), "log", "--format=%s"], capture_output=True, text=True, check=True)
    assert log.stdout == "Generated project\n"
    status = subprocess.run(["git", "-C", str(target), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # the manifest is committed too


def _script(path, status):
    path.write_text(f"#!/bin/sh\nexit {status}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_uv_is_found_on_the_path_then_uv_env_then_as_a_module(tmp_path, monkeypatch):
    good, broken = _script(tmp_path / "good", 0), _script(tmp_path / "broken", 1)
    found = {"uv": None, "python3": broken}
    monkeypatch.setattr(write.shutil, "which", lambda name: found[name])
    monkeypatch.setattr(write.sys, "executable", broken)  # this interpreter has no uv module
    monkeypatch.setenv("UV", good)
    assert write.uv_command() == [good]
    found["uv"] = good
    monkeypatch.setenv("UV", broken)
    assert write.uv_command() == [good]
    found["uv"] = None
    found["python3"] = good  # only `python3 -m uv` answers
    assert write.uv_command() == [good, "-m", "uv"]
    interpreter = _script(tmp_path / "interpreter", 0)
    monkeypatch.setattr(write.sys, "executable", interpreter)  # this interpreter's module comes before python3's
    assert write.uv_command() == [interpreter, "-m", "uv"]


def test_no_uv_anywhere_is_one_clear_error(tmp_path, monkeypatch):
    broken = _script(tmp_path / "broken", 1)
    monkeypatch.setattr(write.shutil, "which", lambda name: broken if name == "python3" else None)
    monkeypatch.setattr(write.sys, "executable", broken)
    monkeypatch.delenv("UV", raising=False)
    with pytest.raises(WriteError, match=r"uv not found .*--no-lock"):
        write.uv_command()

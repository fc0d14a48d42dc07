"""source_files: what a cut reads from a source tree (this repository, or a generated project cut again)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tripcast.generator.selection import source_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_a_checkout_gives_tracked_and_new_files_but_not_ignored_or_deleted_ones(tmp_path):
    git(tmp_path, "init", "--quiet")
    (tmp_path / ".gitignore").write_text("/data/locks/\n")
    (tmp_path / "kept.py").write_text("x = 1\n")
    (tmp_path / "deleted.py").write_text("y = 2\n")
    git(tmp_path, "add", "--all")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "first")
    (tmp_path / "deleted.py").unlink()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "added_by_an_upgrade.py").write_text("z = 3\n")  # not committed yet
    (tmp_path / "data" / "locks").mkdir(parents=True)
    (tmp_path / "data" / "locks" / "promote.lock").write_text("")
    assert source_files(tmp_path) == [".gitignore", "kept.py", "src/added_by_an_upgrade.py"]


def test_a_plain_folder_is_walked_without_caches(tmp_path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"")
    assert source_files(tmp_path) == ["a.py"]

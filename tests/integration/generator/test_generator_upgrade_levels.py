"""A beginner project generated from this repository, edited as a user would, upgraded to expert a level at a
time: edits kept, each level's new files added, a planted conflict reported and nothing else marked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.generator_upgrade import (
    PROJECT_NAME,
    assert_edits_kept,
    edit_like_a_user,
    generate,
    rendering,
    walk_levels,
)
from tripcast.generator.manifest import read_manifest
from tripcast.generator.merge import files_with_extra_markers, marker_lines
from tripcast.generator.options import ProjectOptions
from tripcast.levels import FOLDER_LEVELS, Level

pytestmark = pytest.mark.slow


def test_beginner_to_expert_keeps_the_users_edits_and_reports_only_the_planted_conflicts(tmp_path):
    project = generate(tmp_path)
    edits = edit_like_a_user(project)
    previous = Level.BEGINNER
    for level, planted, report in walk_levels(project):
        new_files = set(rendering(level)) - set(rendering(previous))
        assert new_files and set(report.added) == new_files - {planted}
        assert all((project / path).is_file() for path in new_files)
        assert planted not in report.added + report.updated + report.merged
        new_folders = {f for f, tagged in FOLDER_LEVELS.items() if tagged == level and "/" not in f}
        for folder in new_folders & {path.split("/")[0] for path in new_files}:
            assert (project / folder).is_dir(), folder
        assert_edits_kept(project, edits)
        manifest = read_manifest(project)
        assert manifest.level is level and set(manifest.files) >= set(rendering(level))
        previous = level
    assert {"frontend", "observability", "data_engineering"} <= {p.name for p in project.iterdir()}
    allowed = {path: marker_lines(content) for path, content in rendering(Level.EXPERT).items()}
    assert files_with_extra_markers(project, allowed) == []


def test_the_generated_projects_own_copy_hands_the_upgrade_to_the_source(tmp_path):
    project = generate(tmp_path)
    package = ProjectOptions(PROJECT_NAME, Level.BEGINNER).import_name
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, 'src')\n"
        f"from {package}.generator.upgrade import upgrade_project\nfrom {package}.levels import Level\n"
        "report = upgrade_project(Path('.'), Level.INTERMEDIATE, lock=False)\n"
        "print(json.dumps(sorted(report.added)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    added = set(rendering(Level.INTERMEDIATE)) - set(rendering(Level.BEGINNER))
    assert set(__import__("json").loads(done.stdout.splitlines()[-1])) == added
    assert read_manifest(project).level is Level.INTERMEDIATE

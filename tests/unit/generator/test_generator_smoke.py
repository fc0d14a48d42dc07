"""Each level's generated package imports and its CLI answers ``--help`` (this repository's environment,
``PYTHONPATH=<generated>/src``): the cut left no import of a removed module behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tripcast.generator.options import ProjectOptions
from tripcast.generator.render import render_project
from tripcast.generator.write import write_files
from tripcast.levels import Level

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("level", list(Level))
def test_the_generated_cli_starts(tmp_path, level):
    write_files(tmp_path, render_project(REPO, ProjectOptions("smoke-proj", level, "academic")))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "SMOKE_PROJ_HOME": str(tmp_path)}
    code = "import os, smoke_proj.cli.app as m; assert m.__file__.startswith(os.environ['PYTHONPATH']); m.main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "new" in done.stdout and "demo" in done.stdout

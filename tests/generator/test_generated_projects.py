"""`make test-generator`: a project cut at each level, in a fresh folder, passes its own `make demo` and
`make test` (issue 17), with its own virtual environment synced from its own lock.

Slow (minutes per level), so outside `make test` (the ``generator`` marker); `.ci/run` runs both. The beginner
and intermediate projects run their whole `make test`; the advanced and expert ones run lint, mypy, their
import contracts, the web console's checks and their unit and architecture tests, since their full suites are
this repository's own (`make test` runs it). Each run's timings go to ``data/reports/test-generator.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tripcast.generator.options import ProjectOptions
from tripcast.levels import Level

REPO = Path(__file__).resolve().parents[2]
NAME = "my-ml-project"
#: PYTEST_ARGS of each level's `make test` (empty: the whole suite).
PYTEST_ARGS = {
    Level.BEGINNER: "",
    Level.INTERMEDIATE: "",
    Level.ADVANCED: "tests/unit tests/architecture",
    Level.EXPERT: "tests/unit tests/architecture",
}
TIMINGS = REPO / "data" / "reports" / "test-generator.json"

pytestmark = [pytest.mark.generator, pytest.mark.slow, pytest.mark.timeout(3600)]


def project_env(options: ProjectOptions, shared_data: Path, bin_dir: Path) -> dict[str, str]:
    """This process's environment without Tripcast's settings or virtual environment, plus where the project's
    tests find the real TLC files (as `.ci/run` sets it); ``uv`` on the PATH (a shim over ``python3 -m uv`` when
    only the module is installed: the generator locks the project with it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIPCAST_", "VIRTUAL_ENV", "UV_PROJECT"))}
    uv_binary = os.environ.get("UV") or shutil.which("uv")  # `uv run` names its own binary in UV
    if uv_binary is not None:
        env["PATH"] = f"{Path(uv_binary).parent}{os.pathsep}{env.get('PATH', '')}"
    else:
        bin_dir.mkdir(parents=True, exist_ok=True)
        shim = bin_dir / "uv"
        shim.write_text('#!/bin/sh\nexec python3 -m uv "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env[f"{options.env_prefix}SHARED_DATA"] = str(shared_data)
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``command``; its duration and the end of its output, failing the test with that output."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3000, check=False)
    output = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"{' '.join(command)} failed in {cwd}:\n{output}"
    return time.perf_counter() - started, output


def record(level: Level, timings: dict[str, float], files: int) -> None:
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(TIMINGS.read_text(encoding="utf-8")) if TIMINGS.is_file() else {}
    recorded[level.name.lower()] = {"files": files, **{k: round(v, 1) for k, v in timings.items()}}
    TIMINGS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.mark.parametrize("level", list(Level), ids=lambda level: level.name.lower())
def test_a_generated_project_passes_its_own_demo_and_tests(level: Level, tmp_path: Path, shared_data_dir: Path):
    options = ProjectOptions(NAME, level)
    env = project_env(options, shared_data_dir, tmp_path / "bin")
    generate = [sys.executable, str(REPO / "create_mlops_structure.py"), "--project-name", NAME]
    timings = {"generate": run([*generate, "--level", level.name.lower(), "--output", str(tmp_path)], REPO, env)[0]}
    project = tmp_path / NAME
    files = sum(1 for path in project.rglob("*") if path.is_file() and ".git" not in path.parts)

    timings["setup"], _ = run(["make", "setup", "UV_LINK_MODE=hardlink"], project, env)
    # The README's way to use TLC files already on disk; only for the demo (the tests check the defaults).
    demo_env = {**env, f"{options.env_prefix}RAW_DIR": str(shared_data_dir)}
    timings["demo"], demo = run(["make", "demo", "UV_LINK_MODE=hardlink"], project, demo_env)
    assert "demo summary (real NYC TLC data)" in demo and "champion" in demo
    test = ["make", "test", "UV_LINK_MODE=hardlink", f"PYTEST_ARGS={PYTEST_ARGS[level]}"]
    timings["test"], tested = run(test, project, env)
    assert " passed" in tested and " failed" not in tested and " error" not in tested
    record(level, timings, files)

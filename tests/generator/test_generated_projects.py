"""`make test-generator`: a project generated at beginner level, edited as a user would, grows a level at a time
to expert, and at every level passes its own `make demo` and `make test` (issue 17), with its own virtual
environment synced from its own lock.

One walk covers both promises of the issue: at each level the project is first compared with a project freshly
generated at that level (the same files, byte for byte, but for the user's edits), so its `make demo` and
`make test` are those of the fresh project; and they run after each upgrade step, with the user's edits in a core
file, a test file and the README, and a planted conflict reported and resolved before the step's checks.

Slow (minutes per level), so outside `make test` (the ``generator`` marker); run by hand, not yet in `.ci/run`
(DOCS/generator.md). The beginner and intermediate projects run their whole `make test`; the advanced and expert
ones run lint, mypy, their import contracts, the web console's checks and their unit and architecture tests, since
their full suites are this repository's own (`make test` runs it). Each level's timings go to
``data/reports/test-generator.json``.
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

from support.generator_upgrade import (
    PROJECT_NAME,
    UserEdits,
    assert_edits_kept,
    edit_like_a_user,
    walk_levels,
)
from tripcast.generator.manifest import read_manifest
from tripcast.generator.options import ProjectOptions
from tripcast.levels import Level

REPO = Path(__file__).resolve().parents[2]
#: PYTEST_ARGS of each level's `make test` (empty: the whole suite).
PYTEST_ARGS = {
    Level.BEGINNER: "",
    Level.INTERMEDIATE: "",
    Level.ADVANCED: "tests/unit tests/architecture",
    Level.EXPERT: "tests/unit tests/architecture",
}
TIMINGS = REPO / "data" / "reports" / "test-generator.json"
#: What a project holds besides its generated files: environments, caches and what `make demo`/`make test` wrote.
NOT_GENERATED = {".git", ".venv", "data", "mlruns", "node_modules", "dist", "build"}

pytestmark = [pytest.mark.generator, pytest.mark.slow, pytest.mark.timeout(5400)]


def project_env(options: ProjectOptions, shared_data: Path, bin_dir: Path) -> dict[str, str]:
    """This process's environment without Tripcast's settings or virtual environment, plus where the project's
    tests find the real TLC files (as `.ci/run` sets it); ``uv`` on the PATH (a shim over ``python3 -m uv`` when
    only the module is installed: the generator locks the project with it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIPCAST_", "VIRTUAL_ENV", "UV_PROJECT"))}
    env = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
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


def generated_files(project: Path) -> dict[str, bytes]:
    """The project's files but for environments, caches and run outputs (NOT_GENERATED, ``__pycache__``)."""
    files = {}
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        if relative.parts[0] in NOT_GENERATED or "__pycache__" in relative.parts or not path.is_file():
            continue
        if any(part.endswith("_cache") for part in relative.parts):  # .pytest_cache, .ruff_cache, .mypy_cache
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def assert_same_as_fresh(project: Path, fresh: Path, edits: UserEdits, resolved: set[str]) -> None:
    """The walked project holds the freshly generated project's files, identical but for the user's edits and
    the conflicts the user resolved; the manifest differs only in its history of levels."""
    walked, generated = generated_files(project), generated_files(fresh)
    missing = sorted(set(generated) - set(walked))
    assert not missing, f"files a fresh project has and the upgraded one lacks: {missing[:10]}"
    edited = {edits.core_file, edits.test_file, "README.md", ".mlops-structure.json", *resolved}
    differing = sorted(p for p in generated if p not in edited and walked[p] != generated[p])
    assert not differing, f"files that differ from a fresh project at the same level: {differing[:10]}"


def record(level: Level, timings: dict[str, float], files: int) -> None:
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(TIMINGS.read_text(encoding="utf-8")) if TIMINGS.is_file() else {}
    recorded[level.name.lower()] = {"files": files, **{k: round(v, 1) for k, v in timings.items()}}
    TIMINGS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def generate(level: Level, output: Path, env: dict[str, str], *, lock: bool) -> float:
    """`python create_mlops_structure.py` as a user runs it; how long it took."""
    command = [sys.executable, str(REPO / "create_mlops_structure.py"), "--project-name", PROJECT_NAME]
    command += ["--level", level.name.lower(), "--output", str(output), *([] if lock else ["--no-lock"])]
    return run(command, REPO, env)[0]


def check_level(level: Level, project: Path, env: dict[str, str], timings: dict[str, float], raw: Path) -> None:
    """The project's own `make setup`, `make demo` (on the TLC files in ``raw``) and `make test`."""
    demo_env = {**env, f"{ProjectOptions(PROJECT_NAME, level).env_prefix}RAW_DIR": str(raw)}
    timings["setup"], _ = run(["make", "setup", "UV_LINK_MODE=hardlink"], project, env)
    timings["demo"], demo = run(["make", "demo", "UV_LINK_MODE=hardlink"], project, demo_env)
    assert "demo summary (real NYC TLC data)" in demo and "champion" in demo
    test = ["make", "test", "UV_LINK_MODE=hardlink", f"PYTEST_ARGS={PYTEST_ARGS[level]}"]
    timings["test"], tested = run(test, project, env)
    assert " passed" in tested and " failed" not in tested and " error" not in tested
    record(level, timings, len(read_manifest(project).files))


def test_a_project_grows_from_beginner_to_expert_passing_its_own_demo_and_tests_at_each_level(
    tmp_path: Path, shared_data_dir: Path
):
    env = project_env(ProjectOptions(PROJECT_NAME, Level.BEGINNER), shared_data_dir, tmp_path / "bin")
    timings = {"generate": generate(Level.BEGINNER, tmp_path / "walk", env, lock=True)}
    project = tmp_path / "walk" / PROJECT_NAME
    edits = edit_like_a_user(project)
    check_level(Level.BEGINNER, project, env, timings, shared_data_dir)
    resolved: set[str] = set()
    step_started = time.perf_counter()
    for level, planted, _report in walk_levels(project, lock=True):
        timings = {"upgrade": time.perf_counter() - step_started}
        resolved.add(planted)
        fresh = tmp_path / level.name.lower()
        timings["generate"] = generate(level, fresh, env, lock=False)
        assert_same_as_fresh(project, fresh / PROJECT_NAME, edits, resolved)
        assert_edits_kept(project, edits)
        check_level(level, project, env, timings, shared_data_dir)
        step_started = time.perf_counter()

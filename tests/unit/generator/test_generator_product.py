"""Every level x type combination of this repository renders, and matches the declared maps (issue 17).

Expectations come from ``tripcast.levels`` and the type map directly, and from ``git ls-files`` (tracked files
and new ones git does not ignore: a just-upgraded project has not committed what the upgrade added), not from the
generator's selection code.
"""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tripcast.generator.options import ALWAYS_KEPT, PROJECT_TYPE_FOLDERS, PROJECT_TYPES, ProjectOptions
from tripcast.generator.render import FOLDER_NEUTRAL_TESTS, render_project
from tripcast.levels import FOLDER_LEVELS, PACKAGE_LEVELS, ROOT_PACKAGE, Level, level_of

REPO = Path(__file__).resolve().parents[3]
#: The cut's name: anything but the source's own (a generated project runs these tests on itself).
NAME = "my-ml-project" if ROOT_PACKAGE != "my_ml_project" else "other-ml-project"
PACKAGE = NAME.replace("-", "_")
COMBINATIONS = list(itertools.product(Level, PROJECT_TYPES))
#: The source name as a word (``_`` and ``-`` do not extend a word: ``tripcast_monthly`` counts).
LEFTOVER = re.compile(r"(?<![A-Za-z0-9])(tripcast|TRIPCAST)(?![A-Za-z0-9])|\btripcast\b|TRIPCAST_", re.IGNORECASE)


@cache
def rendered(level: Level, project_type: str) -> dict[str, bytes]:
    return render_project(REPO, ProjectOptions(NAME, level, project_type))


@cache
def tracked() -> list[str]:
    listed = ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"]
    return subprocess.run(listed, capture_output=True, text=True, check=True).stdout.split()


def folder_level(path: str) -> Level | None:
    """A tracked path's level in FOLDER_LEVELS: its longest matching key's."""
    keys = [key for key in FOLDER_LEVELS if path.startswith(key + "/") or path == key]
    return FOLDER_LEVELS[max(keys, key=len)] if keys else None


def expected_root_folders(level: Level, project_type: str) -> set[str]:
    """Root folders holding a tracked file of the level, among the type's."""
    wanted = PROJECT_TYPE_FOLDERS[project_type]
    present = {path.split("/")[0] for path in tracked() if "/" in path and (folder_level(path) or 99) <= level}
    return {f for f in present if wanted is None or f in wanted} | {path.split("/")[0] for path in ALWAYS_KEPT}


def modules(files: dict[str, bytes]) -> set[str]:
    """Dotted names (source spelling) of the rendered package's modules."""
    names = set()
    for path in files:
        if path.startswith(f"src/{PACKAGE}/") and path.endswith(".py"):
            dotted = path[len("src/") : -len(".py")].removesuffix("/__init__").replace("/", ".")
            names.add(dotted.replace(PACKAGE, "tripcast", 1))
    return names


@pytest.mark.parametrize(("level", "project_type"), COMBINATIONS)
def test_every_combination_has_its_declared_root_folders(level, project_type):
    files = rendered(level, project_type)
    assert {path.split("/")[0] for path in files if "/" in path} == expected_root_folders(level, project_type)
    assert {"README.md", "Makefile", "pyproject.toml", ".gitignore", "create_mlops_structure.py"} <= set(files)
    assert "uv.lock" not in files
    for path in files:  # deeper keys too (DOCS/lifecycle.md is expert): nothing above the level
        if "/" in path and not path.startswith(("src/", "tests/")) and path not in ALWAYS_KEPT:
            assert (folder_level(path) or Level.EXPERT) <= level, path


@pytest.mark.parametrize("level", list(Level))
def test_packages_hold_exactly_the_level_s_modules(level):
    source = {
        path[len("src/") : -len(".py")].removesuffix("/__init__").replace("/", ".")
        for path in tracked()
        if path.startswith("src/tripcast/") and path.endswith(".py")
    }
    kept = modules(rendered(level, "enterprise"))
    at_level = {m for m in source if (level_of(m) or Level.EXPERT) <= level}
    assert at_level <= kept, f"missing: {sorted(at_level - kept)}"
    tagged_at_level = [prefix for prefix, tag in PACKAGE_LEVELS.items() if tag <= level]
    for extra in sorted(kept - at_level):  # above the level: only as the parent package of a kept one
        assert any(prefix.startswith(extra + ".") for prefix in tagged_at_level), extra
        assert f"src/{PACKAGE}/{extra.replace('tripcast.', '', 1).replace('.', '/')}/__init__.py" in rendered(
            level, "enterprise"
        )


@pytest.mark.parametrize(("level", "project_type"), COMBINATIONS)
def test_a_type_never_changes_the_code_of_its_level(level, project_type):
    def code(files: dict[str, bytes]) -> set[str]:
        return {path for path in files if path.startswith("src/")}

    assert code(rendered(level, project_type)) == code(rendered(level, "enterprise"))


@pytest.mark.parametrize(("level", "project_type"), COMBINATIONS)
def test_no_source_name_remains_and_python_compiles(level, project_type):
    for path, content in rendered(level, project_type).items():
        assert not LEFTOVER.search(path), path
        if (path, content) in CHECKED:  # most files are the same in several combinations: check each once
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if LEFTOVER.search(text):
            for number, line in enumerate(text.splitlines(), start=1):
                if LEFTOVER.search(line) and "generated from tripcast" not in line.lower():
                    pytest.fail(f"{path}:{number}: {line.strip()}")
        if path.endswith(".py"):
            compile(text, path, "exec")
            if path.startswith("src/"):
                assert_functions_fit(path, text)
        CHECKED.add((path, content))


#: The generated project's own tests/architecture/test_function_length.py limit, which the rename and ruff's
#: re-wrapping of longer names must not push a function past.
MAX_FUNCTION_LINES = 60


def assert_functions_fit(path: str, text: str) -> None:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path}::{node.name} is {length} lines once renamed"


#: (path, content) pairs already found clean and compiling.
CHECKED: set[tuple[str, bytes]] = set()


@pytest.mark.parametrize("project_type", [t for t in PROJECT_TYPES if t != "enterprise"])
def test_kept_tests_name_no_dropped_root_folder(project_type):
    files = rendered(Level.EXPERT, project_type)
    wanted = PROJECT_TYPE_FOLDERS[project_type] or ()
    always = {path.split("/")[0] for path in ALWAYS_KEPT}
    dropped = {f for f in FOLDER_LEVELS if "/" not in f and f not in wanted and f not in always}
    for path, content in files.items():
        if path.startswith("tests/") and not path.startswith(FOLDER_NEUTRAL_TESTS):
            text = content.decode("utf-8", errors="replace")
            for folder in dropped:
                assert not re.search(rf"""["'/]{re.escape(folder)}["'/]""", text.split('"""', 2)[-1]), (path, folder)


@pytest.mark.parametrize(("level", "project_type"), COMBINATIONS)
def test_the_makefile_uses_no_root_folder_the_project_lacks(level, project_type):
    """`make test` of an academic project must not build the frontend it does not have (``# folder:`` markers)."""
    wanted = PROJECT_TYPE_FOLDERS[project_type]
    makefile = rendered(level, project_type)["Makefile"].decode()
    always = {path.split("/")[0] for path in ALWAYS_KEPT}
    roots = {f: tag for f, tag in FOLDER_LEVELS.items() if "/" not in f and f not in always}
    for folder in sorted(f for f, tag in roots.items() if tag > level or (wanted is not None and f not in wanted)):
        assert not re.search(rf"(?<![\w/.-]){re.escape(folder)}/|cd {re.escape(folder)}\b", makefile), folder


def test_rendering_is_deterministic():
    again = render_project(REPO, ProjectOptions(NAME, Level.ADVANCED, "service"))
    assert again == rendered(Level.ADVANCED, "service")


def test_levels_only_add():
    for lower, higher in itertools.pairwise(Level):
        assert set(rendered(lower, "enterprise")) <= set(rendered(higher, "enterprise"))

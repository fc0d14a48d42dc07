"""Every level's cut of this tree is whole: what it keeps names only what it keeps (issue 17).

For each learning level the project is cut in memory (``render_project``, the package name kept so paths
compare with the source), then checked without running it: every ``tripcast`` import of a kept module or
test (top level and lazy) resolves to a kept module and, for ``from m import name``, to a name the kept ``m``
still binds; every kept test's helper imports resolve to kept files; and Pyflakes' checks (ruff ``F``:
undefined names, imports left unused by a removed statement) pass on the kept Python. ``mypy`` and the whole
suite on a generated project (``make test-generator``) are the real checks; these take seconds.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
import tomllib
from functools import cache
from pathlib import Path

import pytest

from tripcast.generator.options import ProjectOptions
from tripcast.generator.render import render_project
from tripcast.generator.test_levels import declared_level, imported, marked_names
from tripcast.generator.test_levels import test_file_levels as grade_tests
from tripcast.levels import TEST_LEVELS, Level

REPO = Path(__file__).resolve().parents[2]
LEVELS = list(Level)


@cache
def cut(level: Level) -> dict[str, bytes]:
    return render_project(REPO, ProjectOptions("tripcast", level))


def _module(path: str) -> str:
    parts = path.removeprefix("src/").removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bound_names(text: str) -> set[str]:
    """Names a module binds at its top level (and in ``if`` / ``try`` blocks there)."""
    names: set[str] = set()
    pending = list(ast.parse(text).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If | ast.Try):
            pending += [*node.body, *node.orelse, *getattr(node, "handlers", []), *getattr(node, "finalbody", [])]
        elif isinstance(node, ast.ExceptHandler):
            pending += node.body
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def unresolved_imports(files: dict[str, bytes]) -> list[str]:
    """``file: import`` for every tripcast import of a kept Python file that the cut cannot satisfy."""
    modules = {_module(path): path for path in files if path.startswith("src/") and path.endswith(".py")}
    bound = cache(lambda module: _bound_names(files[modules[module]].decode()))
    problems = []
    for path, content in sorted(files.items()):
        if not path.endswith(".py") or not path.startswith(("src/", "tests/")):
            continue
        for module, names in imported(content.decode()):
            if module.split(".")[0] != "tripcast":
                continue
            if module not in modules:
                problems.append(f"{path}: {module} is not in the cut")
                continue
            for name in names:
                if f"{module}.{name}" not in modules and name not in bound(module):
                    problems.append(f"{path}: {module} no longer binds {name}")
    return problems


def missing_test_helpers(files: dict[str, bytes]) -> list[str]:
    """``file: module`` for every test-helper import (``support.x``, a sibling module, a conftest of another
    folder) that resolves in the source but not in the cut."""
    problems = []
    for path, content in sorted(files.items()):
        if not (path.startswith("tests/") and path.endswith(".py")):
            continue
        for module, names in imported(content.decode()):
            for candidate in (module, *(f"{module}.{name}" for name in names)):
                for base in (str(Path(path).parent), "tests", "."):
                    relative = Path(base, *candidate.split(".")).as_posix()
                    in_source = [f"{relative}.py", f"{relative}/__init__.py"]
                    found = [name for name in in_source if (REPO / name).is_file() and name.startswith("tests/")]
                    if found:
                        if not any(name in files for name in found):
                            problems.append(f"{path}: {candidate} ({found[0]}) is not in the cut")
                        break
    return sorted(set(problems))


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name.lower())
def test_every_kept_import_resolves_in_the_cut(level: Level) -> None:
    files = cut(level)
    assert not unresolved_imports(files)
    assert not missing_test_helpers(files)


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.name.lower())
def test_pyflakes_finds_no_name_the_cut_removed_or_left_unused(level: Level, tmp_path: Path) -> None:
    for path, content in cut(level).items():
        if path.endswith(".py") or path == "pyproject.toml":
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_bytes(content)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    done = subprocess.run(
        [ruff, "check", "--no-cache", "--select", "F", "--output-format", "concise", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_a_lower_cut_keeps_no_module_of_a_higher_level() -> None:
    beginner = {_module(path) for path in cut(Level.BEGINNER) if path.startswith("src/") and path.endswith(".py")}
    for gone in ("api.app", "bootstrap.feedback", "bootstrap.access", "cli.serving", "mlops.drift_detection"):
        assert f"tripcast.{gone}" not in beginner
    app = cut(Level.BEGINNER)["src/tripcast/cli/app.py"].decode()
    assert "from tripcast.cli import audit" in app and "serving" not in app and "experiments" not in app
    assert "experiments" in cut(Level.EXPERT)["src/tripcast/cli/app.py"].decode()


def test_a_beginner_project_installs_no_heavy_stack() -> None:
    project = tomllib.loads(cut(Level.BEGINNER)["pyproject.toml"].decode())
    installed = " ".join(
        [*project["project"]["dependencies"], *project["dependency-groups"]["dev"]]
        + [dependency for extra in project["project"].get("optional-dependencies", {}).values() for dependency in extra]
    )
    for absent in ("pyspark", "feast", "streamlit", "fastapi", "apache-airflow", "evidently", "uvicorn", "tl2cgen"):
        assert absent not in installed, absent
    makefile = cut(Level.BEGINNER)["Makefile"].decode()
    assert "npm" not in makefile and "monitoring-up" not in makefile and "level" not in makefile
    assert "npm" in cut(Level.INTERMEDIATE)["Makefile"].decode()
    assert "chromium" not in cut(Level.BEGINNER)[".ci/run"].decode()


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


LEVELS_PY = """
    from tripcast.levels import Level

    PACKAGE_LEVELS = {"pkg.core": Level.BEGINNER, "pkg.api": Level.INTERMEDIATE, "pkg.boot": Level.BEGINNER}
    FOLDER_LEVELS = {"src": Level.BEGINNER, "tests": Level.BEGINNER}
    TEST_LEVELS = {"tests/e2e/stack": Level.ADVANCED}

    def level_of(module):
        if module == "pkg":
            return Level.BEGINNER
        found = [p for p in PACKAGE_LEVELS if module == p or module.startswith(p + ".")]
        return PACKAGE_LEVELS[max(found, key=len)] if found else None
"""


def test_a_test_takes_the_highest_level_of_what_it_imports_declares_and_loads(tmp_path: Path) -> None:
    source = _tree(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/levels.py": LEVELS_PY,
            "src/pkg/boot.py": "def basic(): ...\n\n\ndef wired():  # level: expert\n    ...\n",
            "tests/unit/test_core.py": "from pkg.core import x\n",
            "tests/unit/test_lazy.py": "def test():\n    from pkg.api import app\n",
            "tests/unit/test_marked.py": "from pkg.boot import basic, wired\n",
            "tests/unit/test_basic.py": "from pkg.boot import basic\n",
            "tests/unit/test_helper.py": "from support.helpers import thing\n",
            "tests/support/__init__.py": "",
            "tests/support/helpers.py": "from pkg.api import thing\n",
            "tests/api/conftest.py": "import pkg.api\n",
            "tests/api/test_plain.py": "import os\n",
            "tests/e2e/stack/test_stack.py": "import subprocess\n",
            "tests/e2e/stack/data.yml": "a: 1\n",
        },
    )
    levels = grade_tests(source)
    expected = {
        "tests/unit/test_core.py": Level.BEGINNER,
        "tests/unit/test_lazy.py": Level.INTERMEDIATE,
        "tests/unit/test_marked.py": Level.EXPERT,
        "tests/unit/test_basic.py": Level.BEGINNER,
        "tests/unit/test_helper.py": Level.INTERMEDIATE,
        "tests/api/test_plain.py": Level.INTERMEDIATE,
        "tests/e2e/stack/test_stack.py": Level.ADVANCED,
        "tests/e2e/stack/data.yml": Level.ADVANCED,
        "tests/support/__init__.py": Level.BEGINNER,
    }
    assert {path: levels[path] for path in expected} == expected


def test_marked_names_and_declared_levels() -> None:
    text = "import os\n\n\n@cached  # level: advanced\ndef f(): ...\n\n\nX = 1  # level: expert\nY = 2\n"
    assert marked_names(text) == {"f": Level.ADVANCED, "X": Level.EXPERT}
    assert declared_level("tests/e2e/readme/test_readme_commands.py", TEST_LEVELS) == Level.EXPERT
    assert declared_level("tests/e2e/readmes/x.py", {"tests/e2e/readme": Level.EXPERT}) == Level.BEGINNER


def test_every_file_under_tests_has_a_level() -> None:
    # How long grading takes is measured and reported (DOCS/generator.md), never asserted: a loaded machine
    # would fail a timed assertion with nothing wrong.
    levels = grade_tests(REPO)
    tracked = {path.relative_to(REPO).as_posix() for path in (REPO / "tests").rglob("*.py")}
    assert tracked <= set(levels)
    assert levels["tests/e2e/readme/test_readme_commands.py"] == Level.EXPERT
    assert levels["tests/unit/api/test_console_routes.py"] >= Level.INTERMEDIATE

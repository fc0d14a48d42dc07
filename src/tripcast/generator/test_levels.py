"""The learning level of every file under ``tests/``: the lowest level whose project can run it.

A test file's level is the highest of (generator contract, ``DOCS/generator.md``):

- its declared level: the longest prefix in :data:`tripcast.levels.TEST_LEVELS` naming it (default beginner),
  for tests that drive higher-level commands by subprocess or HTTP without importing them;
- the level of every ``tripcast`` module it imports (top level, lazily or for type checking), and of every
  name it imports that the source marks with a ``# level:`` comment (``serving_parts`` in a beginner module);
- the level of every test module it imports (``support.*``, a sibling helper, another folder's conftest),
  transitively;
- the level of the ``conftest.py`` files of its folder and every parent folder (pytest loads them all).

A file that is not Python takes the declared level of its path. Standard library only: the generator runs
before any dependency is installed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import cache
from pathlib import Path, PurePosixPath

from tripcast.levels import ROOT_PACKAGE, TEST_LEVELS, Level, level_of

__all__ = ["declared_level", "marked_names", "test_file_levels"]

#: ``# level: expert`` at the end of a line (generator contract, Python markers).
PYTHON_MARKER = re.compile(r"#\s*level:\s*(beginner|intermediate|advanced|expert)\s*$")

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def declared_level(relative: str) -> Level:
    """The level :data:`TEST_LEVELS` declares for ``relative`` (a POSIX path under ``tests/``): its longest
    matching path prefix's, beginner when none matches."""
    path = PurePosixPath(relative)
    matches = [prefix for prefix in TEST_LEVELS if path == PurePosixPath(prefix) or PurePosixPath(prefix) in path.parents]
    return TEST_LEVELS[max(matches, key=len)] if matches else Level.BEGINNER


def _marker_lines(text: str) -> dict[int, Level]:
    lines: dict[int, Level] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and (match := PYTHON_MARKER.search(token.string)):
                lines[token.start[0]] = Level[match.group(1).upper()]
    except (tokenize.TokenError, SyntaxError):
        return {}
    return lines


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return [name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)]


def marked_names(text: str) -> dict[str, Level]:
    """Module-level names a ``# level:`` marker ties to a level (a marked def, class, assignment or import):
    the highest marker over every statement binding the name, so a name any cut removes is reported."""
    markers = _marker_lines(text)
    if not markers:
        return {}
    names: dict[str, Level] = {}
    for node in ast.parse(text).body:
        first_lines = [node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]
        levels = [markers[line] for line in first_lines if line in markers]
        if levels:
            for name in _bound_names(node):
                names[name] = max(names.get(name, Level.BEGINNER), max(levels))
    return names


class _TestTree:
    """The Python files under ``source/tests`` and what each imports."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.tests = source / "tests"

    @cache  # noqa: B019 - one tree per call of test_file_levels, dropped with it
    def parsed(self, path: Path) -> ast.Module | None:
        try:
            return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            return None

    def module_file(self, name: str, importer: Path) -> Path | None:
        """The file under tests/ that ``import name`` in ``importer`` loads: pytest puts the importer's folder
        (rootdir-based insertion) and ``tests/`` (``pythonpath``) on ``sys.path``; ``tests.x`` from the root."""
        parts = name.split(".")
        for base in (importer.parent, self.tests, self.source):
            candidate = base.joinpath(*parts)
            for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if path.is_file() and self.tests in path.parents:
                    return path
        return None

    @cache  # noqa: B019 - as above
    def source_file(self, module: str) -> Path | None:
        base = self.source / "src" / Path(*module.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None

    @cache  # noqa: B019 - as above
    def names_marked_in(self, module: str) -> dict[str, Level]:
        path = self.source_file(module)
        return marked_names(path.read_text(encoding="utf-8")) if path is not None else {}

    def imports(self, path: Path) -> tuple[Level, list[Path]]:
        """The highest level of the tripcast modules and marked names ``path`` imports, and the test
        modules it imports."""
        tree = self.parsed(path)
        level, local = Level.BEGINNER, []
        if tree is None:
            return level, local
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module]
                if node.module.split(".")[0] == ROOT_PACKAGE:
                    marked = self.names_marked_in(node.module)
                    for alias in node.names:
                        level = max(level, marked.get(alias.name, Level.BEGINNER))
                        level = max(level, level_of(f"{node.module}.{alias.name}") or Level.BEGINNER)
                else:
                    modules += [f"{node.module}.{alias.name}" for alias in node.names]
            for module in modules:
                if module.split(".")[0] == ROOT_PACKAGE:
                    level = max(level, level_of(module) or Level.BEGINNER)
                elif (found := self.module_file(module, path)) is not None and found != path:
                    local.append(found)
        return level, local

    def conftests(self, path: Path) -> list[Path]:
        """The conftest.py files pytest loads before ``path``: its folder's and every parent's up to tests/."""
        folders = [path.parent, *path.parent.parents]
        found = []
        for folder in folders:
            if folder != self.tests and self.tests not in folder.parents:
                break
            conftest = folder / "conftest.py"
            if conftest.is_file() and conftest != path:
                found.append(conftest)
        return found


def test_file_levels(source: Path) -> dict[str, Level]:
    """Every file under ``source/tests`` (relative POSIX path) -> the lowest level whose project keeps it."""
    tree = _TestTree(source)
    levels: dict[Path, Level] = {}
    visiting: set[Path] = set()

    def level(path: Path) -> Level:
        if path in levels:
            return levels[path]
        if path in visiting:  # an import cycle: the others on it add their own levels
            return Level.BEGINNER
        visiting.add(path)
        found = declared_level(path.relative_to(source).as_posix())
        if path.suffix == ".py":
            imported, local = tree.imports(path)
            found = max(found, imported, *(level(other) for other in local + tree.conftests(path)))
        visiting.discard(path)
        levels[path] = found
        return found

    files = sorted(
        path
        for path in tree.tests.rglob("*")
        if path.is_file() and not _SKIPPED_PARTS.intersection(path.relative_to(source).parts)
        and path.suffix not in {".pyc", ".pyo"}
    )
    return {path.relative_to(source).as_posix(): level(path) for path in files}

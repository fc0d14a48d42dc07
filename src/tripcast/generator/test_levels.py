"""The learning level of every file under ``tests/``: the lowest level whose project can run it.

A test file's level is the highest of (generator contract, ``DOCS/generator.md``):

- its declared level: the longest prefix in :data:`tripcast.levels.TEST_LEVELS` naming it (default beginner),
  for tests that drive higher-level commands by subprocess or HTTP without importing them;
- the level of every ``tripcast`` module it imports (top level, lazily or for type checking), and of every
  name it imports that the source marks with a ``# level:`` comment (``serving_parts`` in a beginner module);
- the level of every test module it imports (``support.*``, a sibling helper, another folder's conftest),
  transitively;
- the level of the ``conftest.py`` files of its folder and every parent folder (pytest loads them all);
- the level of every folder or artifact of :data:`~tripcast.levels.FOLDER_LEVELS` it names as a path in a
  string (``environments/local/.env``, ``observability/prometheus/``): a test reading a file needs it kept.

A file that is not Python takes the declared level of its path. The maps are the SOURCE tree's own
(``src/<package>/levels.py``), as for the rest of the cut. Standard library only: the generator runs before any
dependency is installed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import cache
from pathlib import Path, PurePosixPath
from types import ModuleType

from tripcast.generator.selection import load_source, names_folder
from tripcast.levels import Level

__all__ = ["declared_level", "marked_names", "test_file_levels"]

#: ``# level: expert`` at the end of a line (generator contract, Python markers).
PYTHON_MARKER = re.compile(r"#\s*level:\s*(beginner|intermediate|advanced|expert)\s*$")

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def declared_level(relative: str, declared: dict[str, Level]) -> Level:
    """The level ``declared`` (a ``TEST_LEVELS`` map) gives ``relative`` (a POSIX path under ``tests/``): its
    longest matching path prefix's, beginner when none matches."""
    path = PurePosixPath(relative)
    matches = [prefix for prefix in declared if path == PurePosixPath(prefix) or PurePosixPath(prefix) in path.parents]
    return Level(declared[max(matches, key=len)]) if matches else Level.BEGINNER


def _marker_lines(text: str) -> dict[int, Level]:
    lines: dict[int, Level] = {}
    if "level:" not in text:  # most modules: no marker, no tokenizing
        return lines
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


#: ``import a.b, c as d`` and ``from a.b import (x, y as z)`` at any indentation (lazy imports count too).
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([\w., \t]+))", re.MULTILINE
)


def imported(text: str) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every absolute import statement of a Python source; ``import a``
    gives ``("a", [])``. A regular expression, not a parse: ten times faster over a whole test suite, and a
    docstring line that looks like an import only makes a test's level higher, never lower."""
    found: list[tuple[str, list[str]]] = []
    for match in _IMPORT.finditer(text):
        module, names, modules = match.groups()
        if module is not None:
            cleaned = re.sub(r"#[^\n]*", "", names).strip("() \t\n")
            found.append((module, [n.split()[0] for n in cleaned.replace("\n", " ").split(",") if n.strip()]))
        else:
            found.extend((name.split()[0], []) for name in modules.split(",") if name.strip())
    return found


class _TestTree:
    """The Python files under ``source/tests`` and what each imports."""

    def __init__(self, source: Path, package: str, levels: ModuleType) -> None:
        self.source = source
        self.tests = source / "tests"
        self.package = package
        self.levels = levels

    @cache  # noqa: B019 - as above
    def level_of(self, module: str) -> Level:
        """The source's level of one of its modules (beginner for a name no prefix tags)."""
        return Level(self.levels.level_of(module) or Level.BEGINNER)

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

    def named_folders(self, path: Path, text: str) -> Level:
        """The highest level of the folders and artifacts above beginner that ``text`` names as paths."""
        named = [
            Level(level)
            for folder, level in self.levels.FOLDER_LEVELS.items()
            if level > Level.BEGINNER
            and re.search(rf"[\"'/]{re.escape(folder)}[/\"']", text)  # cheap: parse only files that may name it
            and names_folder(path.as_posix(), text, folder)
        ]
        return max(named, default=Level.BEGINNER)

    def imports(self, path: Path) -> tuple[Level, list[Path]]:
        """The highest level of the tripcast modules and marked names ``path`` imports (and of the folders it
        names), and the test modules it imports."""
        text = path.read_text(encoding="utf-8", errors="replace")
        level, local = self.named_folders(path, text), []
        for module, names in imported(text):
            candidates = [module]
            if module.split(".")[0] == self.package:
                marked = self.names_marked_in(module) if names else {}
                for name in names:
                    level = max(level, marked.get(name, Level.BEGINNER), self.level_of(f"{module}.{name}"))
                level = max(level, self.level_of(module))
                continue
            candidates += [f"{module}.{name}" for name in names]
            for candidate in candidates:
                found = self.module_file(candidate, path)
                if found is not None and found != path:
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
    loaded = load_source(source)
    tree = _TestTree(source, loaded.package, loaded.levels)
    declared: dict[str, Level] = dict(getattr(loaded.levels, "TEST_LEVELS", {}))
    levels: dict[Path, Level] = {}
    visiting: set[Path] = set()

    def level(path: Path) -> Level:
        if path in levels:
            return levels[path]
        if path in visiting:  # an import cycle: the others on it add their own levels
            return Level.BEGINNER
        visiting.add(path)
        found = declared_level(path.relative_to(source).as_posix(), declared)
        if path.suffix == ".py":
            imported, local = tree.imports(path)
            found = max(found, imported, *(level(other) for other in local + tree.conftests(path)))
        visiting.discard(path)
        levels[path] = found
        return found

    files = sorted(
        path
        for path in tree.tests.rglob("*")
        if path.is_file()
        and not _SKIPPED_PARTS.intersection(path.relative_to(source).parts)
        and path.suffix not in {".pyc", ".pyo"}
    )
    return {path.relative_to(source).as_posix(): level(path) for path in files}

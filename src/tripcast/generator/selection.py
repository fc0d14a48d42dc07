"""Which source files a project keeps: packages by level, root folders by level and type, tests by level.

The maps are read from the SOURCE tree's own ``levels.py`` (not from the running code), so a generated
project that upgrades from a newer source gets that source's folders and packages.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType

from tripcast.generator.options import ALWAYS_KEPT, ProjectOptions, type_folders
from tripcast.levels import Level

#: Folders never copied when the source is not a git checkout (as .gitignore says): tool caches and
#: environments and build output at any depth, data and run output at the root only (tests/unit/data is code).
SKIPPED_DIRS = frozenset(
    {".git", ".venv", "node_modules", "dist", "build", "__pycache__", ".pytest_cache", ".mypy_cache",
     ".ruff_cache", ".import_linter_cache", ".hypothesis", ".benchmarks", "spark-warehouse", "metastore_db"}
)  # fmt: skip
SKIPPED_ROOT_DIRS = frozenset({"data", "mlruns", ".venv-airflow"})
#: Root files never copied: the lock is produced by locking the generated project; the manifest is its own.
SKIPPED_FILES = frozenset({"uv.lock", ".mlops-structure.json"})


class SourceError(ValueError):
    """The source tree is not one the generator can cut (no ``src/<package>/levels.py``)."""


@dataclass(frozen=True)
class Source:
    """A source tree: its root, its package name and its level maps (its own ``levels.py``)."""

    root: Path
    package: str
    levels: ModuleType

    @property
    def folder_levels(self) -> dict[str, Level]:
        """Root folders (and deeper artifact paths) -> level."""
        return dict(self.levels.FOLDER_LEVELS)


def load_source(root: Path) -> Source:
    """The source at ``root``: the package under ``src/`` that holds ``levels.py``, and those maps."""
    candidates = sorted(p.parent for p in (root / "src").glob("*/levels.py"))
    if len(candidates) != 1:
        raise SourceError(f"--source {root}: expected one src/<package>/levels.py, found {len(candidates)}")
    package = candidates[0]
    spec = importlib.util.spec_from_file_location(f"_generator_levels_of_{package.name}", package / "levels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Source(root=root, package=package.name, levels=module)


def source_files(root: Path) -> list[str]:
    """Every file of the source: in a git checkout, the tracked ones and the new ones git does not ignore (a
    project just upgraded has not committed what the upgrade added); else a walk skipping caches and data."""
    if (root / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        if listed.returncode == 0:
            names = [name for name in listed.stdout.decode("utf-8").split("\0") if name]
            return sorted(name for name in names if (root / name).is_file())
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        skipped = SKIPPED_DIRS | (SKIPPED_ROOT_DIRS if not relative.parts else frozenset())
        dirs[:] = sorted(d for d in dirs if d not in skipped and not d.endswith(".egg-info"))
        found.extend((relative / name).as_posix() for name in files if not name.endswith((".pyc", ".tmp")))
    return sorted(found)


def _longest_prefix_level(path: str, levels: dict[str, Level]) -> Level | None:
    matches = [key for key in levels if path == key or path.startswith(key + "/")]
    return levels[max(matches, key=len)] if matches else None


def _module_of(path: str, package: str) -> str:
    """``src/pkg/a/b.py`` -> ``pkg.a.b``; a package's ``__init__.py`` or data file -> the package."""
    parts = PurePosixPath(path).parts[1:]
    if parts[-1].endswith(".py") and parts[-1] != "__init__.py":
        return ".".join((*parts[:-1], parts[-1][:-3]))
    return ".".join(parts[:-1]) or package


def keeps_package_file(path: str, source: Source, level: Level) -> bool:
    """A file under ``src/``: kept when its module's level is at most ``level``, or when it is the
    ``__init__.py`` of a parent of a kept module (``mlops/__init__.py`` for the beginner ``mlops.training``)."""
    if not path.startswith(f"src/{source.package}/"):
        return False
    module = _module_of(path, source.package)
    tagged = source.levels.level_of(module)
    if tagged is not None and tagged <= level:
        return True
    if path.endswith("/__init__.py"):
        return any(prefix.startswith(module + ".") for prefix in source.levels.packages_at(level))
    return False


def project_folders(source: Source, options: ProjectOptions) -> frozenset[str]:
    """The root folders the project keeps: its level's, intersected with its type's."""
    level_folders = [folder for folder in source.levels.folders_at(options.level) if "/" not in folder]
    return type_folders(options.project_type, level_folders)


def keeps_path(path: str, source: Source, options: ProjectOptions, folders: frozenset[str]) -> bool:
    """Whether a non-test file of the source belongs to the project (tests are decided by their levels)."""
    if "/" not in path:
        return path not in SKIPPED_FILES
    if path in ALWAYS_KEPT:
        return True
    if path.split("/", 1)[0] not in folders:
        return False
    tagged = _longest_prefix_level(path, source.folder_levels)
    if tagged is None or tagged > options.level:
        return False
    return path.startswith("tests/") or not path.startswith("src/") or keeps_package_file(path, source, options.level)


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            found.add(id(first.value))
    return found


@functools.lru_cache(maxsize=1024)
def _path_strings(text: str) -> frozenset[str]:
    """The string constants of a Python source, docstrings aside (prose is not a dependency)."""
    tree = ast.parse(text)
    skipped = _docstrings(tree)
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
    )


def names_folder(path: str, text: str, folder: str) -> bool:
    """Whether a test file names the root folder ``folder`` as a path: in a Python string (not a docstring)
    equal to it, starting with it or holding ``/folder/``; in any other file, ``folder/`` after a separator."""
    if folder not in text:
        return False
    if not path.endswith(".py"):
        return re.search(rf"(?<![\w.-]){re.escape(folder)}/", text) is not None
    return any(
        value == folder or value.startswith(folder + "/") or f"/{folder}/" in value for value in _path_strings(text)
    )


def _test_module_names(path: str) -> tuple[str, ...]:
    """The names a test helper is imported by (``tests`` is on pytest's path): ``support.x``, ``tests.support.x``."""
    dotted = path[: -len(".py")].removesuffix("/__init__").replace("/", ".")
    return (dotted, dotted.removeprefix("tests."))


def tests_needing_dropped_folders(source: Source, tests: list[str], dropped: list[str]) -> set[str]:
    """Test files that need a root folder the project type drops: those naming it, those importing such a
    file (transitively), and everything under a dropped ``conftest.py``'s folder."""
    texts = {path: (source.root / path).read_text(encoding="utf-8", errors="replace") for path in tests}
    out = {path for path in tests for folder in dropped if names_folder(path, texts[path], folder)}
    imports = {path: imported_modules(texts[path]) for path in tests if path.endswith(".py")}
    while True:
        names = {name for path in out if path.endswith(".py") for name in _test_module_names(path)}
        folders = tuple(path.removesuffix("conftest.py") for path in out if path.endswith("/conftest.py"))
        grown = {path for path, modules in imports.items() if modules & names}
        grown |= {path for path in tests if folders and path.startswith(folders)}
        if grown <= out:
            return out
        out |= grown


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]+))", re.MULTILINE
)


@functools.lru_cache(maxsize=1024)
def imported_modules(text: str) -> frozenset[str]:
    """Every module a Python source imports (``from a import b`` yields ``a`` and ``a.b``), read with a regular
    expression: ten times faster than walking the syntax tree, and an import quoted in a docstring only ever
    adds a name (a test is then dropped with a module it quotes, never kept without one it needs)."""
    names: set[str] = set()
    for match in _IMPORT.finditer(text):
        module, imported, plain = match.groups()
        if plain:
            names.update(part.split()[0] for part in plain.split(",") if part.strip())
        elif not module.startswith("."):
            names.add(module)
            aliases = imported.strip("() \t\n").replace("\n", " ").split(",")
            names.update(f"{module}.{part.split()[0]}" for part in aliases if part.strip())
    return frozenset(names)


#: Test levels of recent source trees, by tree and the size and time of each of its files: a tree renders at
#: several levels and types in one process (an upgrade renders twice, the product tests twenty times).
_TEST_LEVELS_SEEN: dict[tuple[str, tuple[tuple[str, int, int], ...]], dict[str, Level]] = {}


def levels_of_tests(source: Source, files: list[str]) -> dict[str, Level]:
    """The level of every file under ``tests/`` (the generator contract, rule 4)."""
    stats = ((path, (source.root / path).stat()) for path in files)
    key = (str(source.root.resolve()), tuple((path, st.st_mtime_ns, st.st_size) for path, st in stats))
    if key not in _TEST_LEVELS_SEEN:
        if len(_TEST_LEVELS_SEEN) >= 8:
            _TEST_LEVELS_SEEN.clear()
        _TEST_LEVELS_SEEN[key] = _compute_test_levels(source)
    return dict(_TEST_LEVELS_SEEN[key])


def _compute_test_levels(source: Source) -> dict[str, Level]:
    from tripcast.generator.test_levels import test_file_levels  # here: test_levels imports this module

    return {path: Level(level) for path, level in test_file_levels(source.root).items()}

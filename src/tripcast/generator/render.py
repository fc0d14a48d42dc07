"""Render a project: the files a project cut at a level and type holds, with the package renamed."""

from __future__ import annotations

from pathlib import Path

from tripcast.generator.markers import Cut, resolve
from tripcast.generator.normalise import normalise_python
from tripcast.generator.options import ALWAYS_KEPT, ProjectOptions
from tripcast.generator.rename import Renamer
from tripcast.generator.selection import (
    Source,
    keeps_path,
    levels_of_tests,
    load_source,
    project_folders,
    source_files,
    tests_needing_dropped_folders,
)

#: Tests that read the folder maps and render in memory, not the folders: they hold folder names without
#: needing the folders.
FOLDER_NEUTRAL_TESTS = ("tests/architecture/", "tests/unit/generator/")


def render_project(source: Path, options: ProjectOptions) -> dict[str, bytes]:
    """Every file of the project ``options`` describes, cut from the source tree at ``source``.

    Reads ``source`` and writes nothing outside a temporary folder (ruff normalises the renamed Python there:
    :mod:`tripcast.generator.normalise`). Keys are relative POSIX paths; values the exact bytes to write
    (package renamed, level markers resolved). Deterministic: the same source and options give the same result,
    which is what makes a three-way merge on upgrade possible (base = the old level's rendering).
    """
    tree = load_source(source)
    files = source_files(source)
    folders = project_folders(tree, options)
    kept = [path for path in files if keeps_path(path, tree, options, folders)]
    source_only = tuple(getattr(tree.levels, "SOURCE_ONLY_PATHS", ()))
    kept = [path for path in _cut_tests(tree, options, files, kept, folders) if not path.startswith(source_only)]
    cut = Cut(options.level, folders | {path.split("/", 1)[0] for path in ALWAYS_KEPT})
    renamer = Renamer(tree.package, options)
    rendered: dict[str, bytes] = {}
    for path in kept:
        content = resolve(path, (source / path).read_bytes(), cut)
        rendered[renamer.path(path)] = renamer.content(path, content)
    return dict(sorted(normalise_python(rendered, source).items()))


def _cut_tests(
    tree: Source, options: ProjectOptions, files: list[str], kept: list[str], folders: frozenset[str]
) -> list[str]:
    """``kept`` without the tests above the level, nor those needing a root folder the type drops."""
    tests = [path for path in kept if path.startswith("tests/")]
    if not tests:
        return kept
    levels = levels_of_tests(tree, files)
    tests = [path for path in tests if levels.get(path, options.level) <= options.level]
    present = folders | {path.split("/", 1)[0] for path in ALWAYS_KEPT}
    dropped = sorted(f for f in tree.levels.folders_at(options.level) if "/" not in f and f not in present)
    checked = [path for path in tests if not path.startswith(FOLDER_NEUTRAL_TESTS)]
    needing = tests_needing_dropped_folders(tree, checked, dropped) if dropped else set()
    kept_tests = {path for path in tests if path not in needing}
    return [path for path in kept if not path.startswith("tests/") or path in kept_tests]

"""A user's life with a generated project: generate a beginner project from this repository, edit a core file,
a test file and the README, plant a deliberate conflict, and upgrade a level at a time.

tests/integration/generator checks the upgrade's promises with it; tests/generator (which runs ``make test`` in
generated projects) can drive the same walk with :func:`walk_levels` and run its checks after each step.
Everything is chosen from the renderings, not hard-coded, so new level markers do not break it: the edits sit
where no level changes the file, and the conflict sits on the line next to the upgrade's first change.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tripcast.generator.manifest import read_manifest
from tripcast.generator.merge import is_binary, marker_lines
from tripcast.generator.options import ProjectOptions
from tripcast.generator.render import render_project
from tripcast.generator.upgrade import UpgradeReport, upgrade_project
from tripcast.generator.write import write_project
from tripcast.levels import Level

REPO = Path(__file__).resolve().parents[2]
PROJECT_NAME = "my-ml-project"
HELPER = '\n\ndef user_added_helper() -> str:\n    """Added by the user: upgrades keep it."""\n    return "kept"\n'
README_LINE = "Notes of the project's user: upgrades keep this line.\n"
CONFLICT_SUFFIX = "  (edited by the user)"
_CONFLICT_BLOCK = re.compile(r"^<{7} [^\n]*\n(.*?)^={7}\n(.*?)^>{7} [^\n]*\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class UserEdits:
    """Where the user's edits went: each must survive every upgrade."""

    core_file: str
    test_file: str
    test_text: str


def generate(workdir: Path, level: Level = Level.BEGINNER, *, source: Path = REPO, lock: bool = False) -> Path:
    """A project generated from ``source`` into ``workdir/my-ml-project`` (no ``uv lock`` unless asked)."""
    options = ProjectOptions(PROJECT_NAME, level)
    return write_project(cached_render(source, options), options, workdir, source, lock_dependencies=lock)


def _stable(path: str, renderings: list[dict[str, bytes]]) -> bool:
    return all(path in files and files[path] == renderings[0][path] for files in renderings)


def edit_like_a_user(project: Path, source: Path = REPO) -> UserEdits:
    """Append a function to a core module and a test of it to a test file, both files no level changes, and
    add a line to the README where no level changes it."""
    renderings = [rendering(Level.BEGINNER, source), rendering(Level.EXPERT, source)]
    package = ProjectOptions(PROJECT_NAME, Level.BEGINNER).import_name
    core = next(
        p
        for p in sorted(renderings[0])
        if p.startswith(f"src/{package}/core/") and not p.endswith("__init__.py") and _stable(p, renderings)
    )
    test = next(
        p for p in sorted(renderings[0]) if p.startswith("tests/unit/") and p.endswith(".py") and _stable(p, renderings)
    )
    module = core.removeprefix("src/").removesuffix(".py").replace("/", ".")
    test_text = (
        f"\n\ndef test_user_added_helper_is_kept():\n    from {module} import user_added_helper\n\n"
        '    assert user_added_helper() == "kept"\n'
    )
    with (project / core).open("a") as handle:
        handle.write(HELPER)
    with (project / test).open("a") as handle:
        handle.write(test_text)
    readme = (project / "README.md").read_text().splitlines(keepends=True)
    anchor = _stable_line(readme, renderings[1]["README.md"].decode().splitlines(keepends=True))
    (project / "README.md").write_text("".join([*readme[: anchor + 1], "\n", README_LINE, *readme[anchor + 1 :]]))
    return UserEdits(core_file=core, test_file=test, test_text=test_text)


def _stable_line(lines: list[str], highest: list[str]) -> int:
    """The index of a line in the middle of the longest run the highest level leaves as it is."""
    blocks = difflib.SequenceMatcher(a=lines, b=highest, autojunk=False).get_matching_blocks()
    longest = max(blocks, key=lambda block: block.size)
    return longest.a + longest.size // 2


def assert_edits_kept(project: Path, edits: UserEdits) -> None:
    """Every edit of :func:`edit_like_a_user` is still in the project."""
    assert (project / edits.core_file).read_text().endswith(HELPER), edits.core_file
    assert (project / edits.test_file).read_text().endswith(edits.test_text), edits.test_file
    assert README_LINE in (project / "README.md").read_text()


def plant_conflict(project: Path, before: dict[str, bytes], after: dict[str, bytes]) -> str:
    """Edit the line just before the upgrade's first change (rendering ``before`` -> ``after``) in a file the
    user has not touched, else create a file of the user's where the upgrade adds one: the upgrade must report
    that file as a conflict. The file's path."""
    for path in sorted(set(before) & set(after)):
        if path in ("README.md", "pyproject.toml") or before[path] == after[path]:
            continue
        if (project / path).read_bytes() != before[path] or is_binary(before[path]) or is_binary(after[path]):
            continue
        lines = before[path].decode().splitlines(keepends=True)
        changes = difflib.SequenceMatcher(a=lines, b=after[path].decode().splitlines(keepends=True), autojunk=False)
        first = next(op for op in changes.get_opcodes() if op[0] != "equal")
        if first[1] > 0 and lines[first[1] - 1].strip():
            lines[first[1] - 1] = lines[first[1] - 1].rstrip("\n") + CONFLICT_SUFFIX + "\n"
            (project / path).write_text("".join(lines))
            return path
    # No file changes between the levels: the user creates, where the upgrade adds a file, one of their own.
    path = next(path for path in sorted(set(after) - set(before)) if not is_binary(after[path]))
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_text("the user's own file at a path the upgrade adds\n")
    return path


def resolve_taking_the_upgrade(project: Path, paths: list[str]) -> None:
    """Resolve conflicts as a user accepting the upgrade's side of each block would."""
    for path in paths:
        text = (project / path).read_text()
        (project / path).write_text(_CONFLICT_BLOCK.sub(lambda block: block.group(2), text))


@functools.cache
def cached_render(source: Path, options: ProjectOptions) -> dict[str, bytes]:
    """render_project, once per source and options (deterministic, and the source does not change in a test)."""
    return render_project(source, options)


def rendering(level: Level, source: Path = REPO) -> dict[str, bytes]:
    """The project at ``level`` as the generator renders it."""
    return cached_render(source, ProjectOptions(PROJECT_NAME, level))


def walk_levels(
    project: Path, source: Path = REPO, *, lock: bool = False
) -> Iterator[tuple[Level, str, UpgradeReport]]:
    """Upgrade ``project`` one level at a time up to expert, planting a conflict before each step.

    After each upgrade the planted file must be the one conflict, holding markers; it is then resolved (the
    upgrade's side) and (level reached, planted file, report) is yielded with the project ready for checks
    such as ``make test``.
    """
    current = read_manifest(project).level
    for target in (level for level in Level if level > current):
        planted = plant_conflict(project, rendering(current, source), rendering(target, source))
        report = upgrade_project(project, target, source, render=cached_render, lock=lock)
        assert report.conflicts == [planted], report
        assert marker_lines((project / planted).read_bytes()) >= 3, planted
        resolve_taking_the_upgrade(project, report.conflicts)
        yield target, planted, report
        current = target

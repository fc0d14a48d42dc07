"""Three-way merge of one file (``git merge-file``), binary detection and the conflict-marker scan.

The scan is the upgrade's proof: after an upgrade, a line that opens, splits or closes a conflict may only sit
in a file the report names as a conflict.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The lines git writes around a conflict (standard style, no diff3 base section).
MARKER = re.compile(rb"^(?:<<<<<<< |=======\r?$|>>>>>>> )", re.MULTILINE)

#: Folders the marker scan never enters: tool state and installed packages, not the user's sources.
SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    | {".import_linter_cache", ".hypothesis", "dist", "build", "mlruns"}
)
#: Larger files are data or build output, not files a merge wrote (the merge never writes one this big).
MAX_SCANNED_BYTES = 5 * 1024 * 1024


class MergeToolError(RuntimeError):
    """``git merge-file`` is missing or failed (not a conflict: a conflict is a normal result)."""


@dataclass(frozen=True)
class MergeResult:
    """The merged bytes; ``conflicts`` > 0 when they hold conflict markers."""

    content: bytes
    conflicts: int


def is_binary(content: bytes) -> bool:
    """Whether ``content`` is not text a line merge can handle (a NUL byte, or not UTF-8)."""
    if b"\0" in content:
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def marker_lines(content: bytes) -> int:
    """How many lines of ``content`` look like conflict markers."""
    return len(MARKER.findall(content))


def merge_three_way(ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]) -> MergeResult:
    """Merge the change base -> theirs into ours with ``git merge-file``; ``labels`` name ours, base, theirs."""
    git = shutil.which("git")
    if git is None:
        raise MergeToolError("git not found on PATH: the upgrade's three-way merge runs `git merge-file`")
    with tempfile.TemporaryDirectory(prefix="tripcast-merge-") as folder:
        paths = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(folder) / name
            path.write_bytes(content)
            paths.append(str(path))
        label_args = [arg for label in labels for arg in ("-L", label)]
        result = subprocess.run([git, "merge-file", "-p", *label_args, *paths], capture_output=True, check=False)
    if result.returncode < 0 or result.returncode > 127:
        raise MergeToolError(f"git merge-file failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return MergeResult(content=result.stdout, conflicts=result.returncode)


def project_files(root: Path) -> Iterator[str]:
    """Relative POSIX path of every regular file under ``root``, outside :data:`SKIPPED_DIRS`."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if name not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file():
                yield path.relative_to(root).as_posix()


def text_files(root: Path) -> Iterator[tuple[str, bytes]]:
    """(relative POSIX path, bytes) of every file under ``root`` the marker scan reads."""
    for relative in project_files(root):
        path = root / relative
        if path.stat().st_size <= MAX_SCANNED_BYTES and b"\0" not in (content := path.read_bytes()):
            yield relative, content


def files_with_extra_markers(root: Path, expected: dict[str, int]) -> list[str]:
    """Files under ``root`` with more marker-like lines than ``expected`` allows (default 0 per file).

    ``expected`` holds the count in the file as generated: a source file may legitimately contain such a line
    (a heading underlined with seven '='), and that is not a conflict.
    """
    return [path for path, content in text_files(root) if marker_lines(content) > expected.get(path, 0)]

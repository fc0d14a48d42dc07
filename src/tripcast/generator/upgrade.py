"""Upgrade a generated project to a higher level, keeping the user's edits (three-way merge).

Three renderings meet per file: the base (the project as generated: the recorded source version at the old
level, :mod:`tripcast.generator.upgrade_base`), theirs (the source now at the target level) and ours (the
project's files now). The manifest's hashes say whether the user changed a file since it was generated:

- new upstream: added (a file the user created at that path is merged against an empty base);
- unchanged by the user: replaced by theirs; changed by the user only: kept;
- changed on both sides: ``git merge-file``; on a conflict the file keeps standard markers and is reported;
  a binary file is never merged: ours stays, theirs is written next to it as ``FILE.upgrade-new``;
- deleted by the user: stays deleted (reported); removed upstream: removed unless the user changed it.

Every write is atomic per file; the new manifest (theirs' hashes, the new level) is written last, after the
marker scan has proved that no file outside the reported conflicts holds a conflict marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tripcast.generator.delegate import DelegatedError, runs_from, source_generator, upgrade_in_source
from tripcast.generator.manifest import Manifest, digest, read_manifest, write_manifest
from tripcast.generator.merge import (
    files_with_extra_markers,
    is_binary,
    marker_lines,
    merge_three_way,
    project_files,
)
from tripcast.generator.options import ProjectOptions
from tripcast.generator.upgrade_base import LOCKED, Renderer, has_uncommitted_changes, render_base
from tripcast.generator.upgrade_report import UpgradeReport, level_name
from tripcast.generator.write import source_version
from tripcast.levels import Level

#: Suffix of the upgrade's version of a binary file the user changed (the user's file stays in place).
NEW_SUFFIX = ".upgrade-new"
PYPROJECT = "pyproject.toml"
DIRTY_WARNING = (
    "the project's git work tree had uncommitted changes: `git diff` shows them mixed with the upgrade's "
    "(commit before an upgrade to review it alone)"
)


class UpgradeError(ValueError):
    """The upgrade cannot start (bad target level, missing source, unresolved conflicts); nothing was written."""


class UnreportedMarkerError(RuntimeError):
    """After an upgrade, a file the report does not name as a conflict holds conflict markers (a bug)."""


@dataclass(frozen=True)
class _Change:
    """One file to write (``content``) or delete (``content`` None)."""

    path: str
    content: bytes | None


def upgrade_project(
    project_dir: Path,
    target_level: Level,
    source: Path | None = None,
    *,
    render: Renderer | None = None,
    lock: bool = True,
) -> UpgradeReport:
    """Upgrade the project in ``project_dir`` to ``target_level`` from the source tree ``source``
    (default: the manifest's ``source_path``).

    ``render`` defaults to :func:`tripcast.generator.render.render_project`; ``lock=False`` skips ``uv lock``
    after ``pyproject.toml`` changed (tests). Raises :class:`UpgradeError` before writing anything when the
    upgrade cannot start; conflicts are not errors: they are in the report. When the source holds its own
    generator and this one is not it (a generated project's renamed copy), the source's runs the upgrade
    (:mod:`tripcast.generator.delegate`).
    """
    project_dir = Path(project_dir)
    manifest = read_manifest(project_dir)
    _check_target(manifest, target_level)
    source = _resolve_source(manifest, source)
    if render is None and (package := source_generator(source)) and not runs_from(source):
        return _upgrade_in_source(project_dir, target_level, source, package, lock=lock)
    render = render or _default_renderer()
    old = ProjectOptions(manifest.project_name, manifest.level, manifest.project_type)
    new = ProjectOptions(manifest.project_name, target_level, manifest.project_type)
    theirs = render(source, new)
    base = render_base(source, manifest, old, render)
    allowed = _allowed_markers(base.files, theirs)
    _check_clean(project_dir, allowed)
    report = UpgradeReport(from_level=manifest.level, to_level=target_level)
    if has_uncommitted_changes(project_dir):
        report.warnings.append(DIRTY_WARNING)
    if base.unmatched:
        report.warnings.append(_unmatched_warning(base.how, base.unmatched, manifest))
    labels = ("yours", f"generated ({level_name(manifest.level)})", f"upgrade ({level_name(target_level)})")
    changes = _plan(project_dir, manifest, base.files, theirs, labels, report)
    _apply(project_dir, changes)
    report.relocked = lock and _relock(project_dir, report)
    prove_no_unreported_marker(project_dir, report, allowed)
    write_manifest(project_dir, _new_manifest(project_dir, manifest, source, target_level, theirs, report))
    return report


def _upgrade_in_source(project_dir: Path, target: Level, source: Path, package: str, *, lock: bool) -> UpgradeReport:
    try:
        payload = upgrade_in_source(project_dir, target.name, source, package, lock=lock)
    except DelegatedError as error:
        raise (UnreportedMarkerError if error.kind == UnreportedMarkerError.__name__ else UpgradeError)(
            str(error)
        ) from None
    known = {item.name for item in fields(UpgradeReport)}
    values: dict[str, Any] = {key: value for key, value in payload.items() if key in known}
    for key in ("from_level", "to_level"):
        values[key] = Level(values[key]) if values.get(key) is not None else None
    return UpgradeReport(**values)


def _default_renderer() -> Renderer:
    # Looked up at call time, so a test may replace tripcast.generator.render.render_project.
    from tripcast.generator import render as render_module

    return render_module.render_project


def _check_target(manifest: Manifest, target: Level) -> None:
    if target <= manifest.level:
        higher = ", ".join(level_name(level) for level in Level if level > manifest.level) or "none left"
        raise UpgradeError(
            f"--level {level_name(target)}: the project is already at {level_name(manifest.level)}; "
            f"an upgrade goes to a higher level ({higher})"
        )


def _resolve_source(manifest: Manifest, source: Path | None) -> Path:
    chosen = Path(source) if source is not None else Path(manifest.source_path)
    if not chosen.is_dir():
        origin = "--source" if source is not None else "the manifest's source_path"
        raise UpgradeError(
            f"{origin} {chosen}: not found; pass --source DIR, the source tree the project was generated from"
        )
    return chosen


def _allowed_markers(base: dict[str, bytes], theirs: dict[str, bytes]) -> dict[str, int]:
    """Per generated file, how many marker-like lines it may hold without being a conflict (as generated)."""
    allowed = {path: marker_lines(content) for path, content in base.items()}
    for path, content in theirs.items():
        allowed[path] = max(allowed.get(path, 0), marker_lines(content))
        allowed[path + NEW_SUFFIX] = marker_lines(content)
    return allowed


def _check_clean(project_dir: Path, allowed: dict[str, int]) -> None:
    """Refuse a project an earlier merge left unresolved: conflict markers, or a pending ``.upgrade-new``."""
    marked = files_with_extra_markers(project_dir, allowed)
    pending = [path for path in project_files(project_dir) if path.endswith(NEW_SUFFIX)]
    if marked or pending:
        raise UpgradeError(
            "unresolved conflicts from an earlier merge; resolve them, then upgrade again: "
            + ", ".join([*(f"{path} (conflict markers)" for path in marked), *(f"{p} (pending)" for p in pending)])
        )


def _unmatched_warning(how: str, unmatched: list[str], manifest: Manifest) -> str:
    shown = ", ".join(unmatched[:5]) + (f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else "")
    return (
        f"the base was rendered from {how}, which does not reproduce {len(unmatched)} generated file(s) "
        f"(source version {manifest.source_version} not available or changed): {shown}; "
        "merges of those files may report conflicts where the source changed"
    )


def _read(project_dir: Path, path: str) -> bytes | None:
    """The project's bytes at ``path``, None when absent; refuses what the upgrade could not replace."""
    target = project_dir / path
    above = target.parents[: len(Path(path).parts) - 1]
    if target.is_symlink() or (target.exists() and not target.is_file()) or any(p.is_file() for p in above):
        raise UpgradeError(
            f"{path}: a link, a folder, or under a file in the project, where the upgrade has a file; "
            "move it away and upgrade again"
        )
    return target.read_bytes() if target.is_file() else None


def _plan(
    project_dir: Path,
    manifest: Manifest,
    base: dict[str, bytes],
    theirs: dict[str, bytes],
    labels: tuple[str, str, str],
    report: UpgradeReport,
) -> list[_Change]:
    """Decide every file's outcome in memory (merges included) before anything is written."""
    changes: list[_Change] = []
    for path in sorted((set(theirs) | set(manifest.files)) - LOCKED):
        ours = _read(project_dir, path)
        recorded = manifest.files.get(path)
        if path not in theirs:
            changes.extend(_removed_upstream(path, ours, recorded, report))
        elif ours is None:
            if recorded is None:
                report.added.append(path)
                changes.append(_Change(path, theirs[path]))
            else:
                report.deleted_by_user.append(path)
        elif ours != theirs[path]:
            changes.extend(_three_way(path, ours, base, theirs[path], recorded, labels, report))
    return changes


def _removed_upstream(path: str, ours: bytes | None, recorded: str | None, report: UpgradeReport) -> list[_Change]:
    if ours is None or recorded is None:
        return []
    if digest(ours) == recorded:
        report.removed.append(path)
        return [_Change(path, None)]
    report.kept_removed_upstream.append(path)
    return []


def _three_way(
    path: str,
    ours: bytes,
    base: dict[str, bytes],
    theirs: bytes,
    recorded: str | None,
    labels: tuple[str, str, str],
    report: UpgradeReport,
) -> list[_Change]:
    """A file present on both sides with different bytes: take theirs, keep ours, merge, or report a conflict."""
    if recorded is not None and digest(ours) == recorded:
        report.updated.append(path)
        return [_Change(path, theirs)]
    # A file the user created where the upgrade adds one has an empty base: every difference conflicts.
    original = base.get(path, b"") if recorded is not None else b""
    if original == theirs:
        return []  # only the user changed it: their edit stays
    if is_binary(ours) or is_binary(theirs) or is_binary(original):
        report.conflicts.append(path)
        report.upgrade_new.append(path + NEW_SUFFIX)
        return [_Change(path + NEW_SUFFIX, theirs)]
    result = merge_three_way(ours, original, theirs, labels)
    (report.conflicts if result.conflicts else report.merged).append(path)
    return [_Change(path, result.content)]


def _apply(project_dir: Path, changes: list[_Change]) -> None:
    for change in changes:
        target = project_dir / change.path
        if change.content is None:
            target.unlink()
            _remove_empty_parents(project_dir, target.parent)
        else:
            write_atomic(target, change.content)


def write_atomic(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target`` through a temporary file and a rename: never a half-written file.

    An existing file keeps its mode; a new one is executable when it starts with a shebang.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.exists() else (0o755 if content.startswith(b"#!") else 0o644)
    temporary = target.with_name(f".{target.name}.upgrade-tmp-{os.getpid()}")
    try:
        temporary.write_bytes(content)
        temporary.chmod(mode)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _remove_empty_parents(project_dir: Path, folder: Path) -> None:
    while folder != project_dir and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _relock(project_dir: Path, report: UpgradeReport) -> bool:
    """``uv lock`` when the upgrade changed ``pyproject.toml`` (cleanly): the lock must match it."""
    if PYPROJECT in report.conflicts:
        report.warnings.append(f"{PYPROJECT} has conflicts: resolve them, then run `uv lock`")
        return False
    if PYPROJECT not in report.updated + report.merged + report.added:
        return False
    command = [*uv_command(), "lock", "--quiet"]
    result = subprocess.run(command, cwd=project_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        report.warnings.append(f"`uv lock` failed; run it in {project_dir}: {result.stderr.strip()[-500:]}")
        return False
    return True


def uv_command() -> list[str]:
    """How to run uv: the binary ``uv run`` names in ``UV``, else ``uv`` on PATH, else ``python -m uv``."""
    uv = os.environ.get("UV") or shutil.which("uv")
    return [uv] if uv else [sys.executable, "-m", "uv"]


def prove_no_unreported_marker(project_dir: Path, report: UpgradeReport, allowed: dict[str, int]) -> None:
    """Fail loudly when a file the report does not name as a conflict holds conflict markers."""
    unreported = [path for path in files_with_extra_markers(project_dir, allowed) if path not in report.conflicts]
    if unreported:
        raise UnreportedMarkerError(f"conflict markers in files the upgrade did not report: {', '.join(unreported)}")


def _new_manifest(
    project_dir: Path, old: Manifest, source: Path, level: Level, theirs: dict[str, bytes], report: UpgradeReport
) -> Manifest:
    """The record of this upgrade: theirs' hashes (the next upgrade's base) and the new level."""
    files = {path: digest(content) for path, content in theirs.items()}
    for locked in LOCKED:
        lock_file = project_dir / locked
        if report.relocked and lock_file.is_file():
            files[locked] = digest(lock_file.read_bytes())
        elif locked in old.files:
            files[locked] = old.files[locked]
    return Manifest(
        source_version=source_version(source),
        source_path=str(source.resolve()),
        project_name=old.project_name,
        import_name=old.import_name,
        level=level,
        project_type=old.project_type,
        files=files,
    )

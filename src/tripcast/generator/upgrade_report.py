"""What an upgrade did, and how it reads: the record :func:`tripcast.generator.upgrade.upgrade_project` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from tripcast.levels import Level


def level_name(level: Level | None) -> str:
    """``Level.BEGINNER`` -> ``beginner`` (``?`` when unknown)."""
    return level.name.lower() if level is not None else "?"


@dataclass
class UpgradeReport:
    """What an upgrade did: files added, updated cleanly, merged with the user's edits, and conflicts.

    ``conflicts`` hold standard conflict markers, or (binary files) have the upgrade's version beside them in
    ``upgrade_new``. ``deleted_by_user`` were generated and deleted since: they stay deleted.
    ``kept_removed_upstream`` left the template but the user changed them: they stay as the user's files.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    deleted_by_user: list[str] = field(default_factory=list)
    kept_removed_upstream: list[str] = field(default_factory=list)
    upgrade_new: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    from_level: Level | None = None
    to_level: Level | None = None
    relocked: bool = False

    def outcomes(self) -> dict[str, list[str]]:
        """Outcome label -> files, in the order a reader resolves them (conflicts first)."""
        return {
            "conflict": self.conflicts,
            "upgrade's version (binary conflict)": self.upgrade_new,
            "merged": self.merged,
            "updated": self.updated,
            "added": self.added,
            "removed": self.removed,
            "deleted by you (kept deleted)": self.deleted_by_user,
            "removed upstream (kept: you changed it)": self.kept_removed_upstream,
        }


def grouped(paths: list[str], limit: int = 20) -> list[str]:
    """Up to ``limit`` paths as they are; more are counted per folder (an expert upgrade adds hundreds)."""
    if len(paths) <= limit:
        return paths
    folders: dict[str, int] = {}
    for path in paths:
        folder = path.rsplit("/", 1)[0] + "/" if "/" in path else "./"
        folders[folder] = folders.get(folder, 0) + 1
    return [f"{folder} ({count} file{'s' if count > 1 else ''})" for folder, count in sorted(folders.items())]


def format_report(report: UpgradeReport) -> str:
    """The report as plain text (``create_mlops_structure.py upgrade``): a summary line, then one line per file
    (long lists of added or updated files counted per folder), then the warnings."""
    outcomes = report.outcomes()
    counts = ", ".join(f"{len(paths)} {label.split(' (')[0]}" for label, paths in outcomes.items() if paths)
    levels = f"{level_name(report.from_level)} -> {level_name(report.to_level)}"
    lines = [f"upgrade {levels}: {counts or 'nothing to change'}"]
    for label, paths in outcomes.items():
        shown = paths if label in ("conflict", "merged") else grouped(paths)
        lines.extend(f"  {label:<10} {path}" for path in shown)
    lines.extend(f"warning: {warning}" for warning in report.warnings)
    if report.conflicts:
        lines.append(f"{len(report.conflicts)} conflict(s) to resolve: {', '.join(report.conflicts)}")
    return "\n".join(lines)

"""Upgrade a generated project to a higher level, keeping the user's edits (three-way merge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tripcast.levels import Level


@dataclass(frozen=True)
class UpgradeReport:
    """What an upgrade did: files added, updated cleanly, merged with the user's edits, and conflicts."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def upgrade_project(project_dir: Path, target_level: Level, source: Path | None = None) -> UpgradeReport:
    """Upgrade the project in ``project_dir`` to ``target_level`` from the source tree ``source``
    (default: the manifest's ``source_path``)."""
    raise NotImplementedError("issue 17: upgrade is being built")

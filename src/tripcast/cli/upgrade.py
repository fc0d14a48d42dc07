"""``tripcast upgrade --level L [--source DIR] [--project DIR]``: take a generated project up a level (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, err_console, fail
from tripcast.generator.manifest import ManifestError
from tripcast.generator.merge import MergeToolError
from tripcast.generator.upgrade import UnreportedMarkerError, UpgradeError, upgrade_project
from tripcast.generator.upgrade_report import UpgradeReport, grouped, level_name
from tripcast.levels import Level

app = typer.Typer(no_args_is_help=True)

LEVELS = ", ".join(level.name.lower() for level in Level)


@app.command("upgrade")
def upgrade(
    level: Annotated[str, typer.Option("--level", help=f"Target level ({LEVELS}), above the project's.")],
    source: Annotated[
        Path | None, typer.Option("--source", help="Source tree to cut from (default: the manifest's source_path).")
    ] = None,
    project: Annotated[Path, typer.Option("--project", help="The generated project to upgrade.")] = Path("."),
    no_lock: Annotated[bool, typer.Option("--no-lock", help="Do not run `uv lock` after pyproject.toml changed.")] = (
        False
    ),
) -> None:
    """Upgrade a generated project to a higher level, merging your edits; exit 1 when conflicts remain."""
    if level.upper() not in Level.__members__:
        raise fail(f"--level {level!r}: expected one of {LEVELS}", code=2)
    try:
        report = upgrade_project(project, Level[level.upper()], source, lock=not no_lock)
    except (UpgradeError, ManifestError, MergeToolError) as error:
        raise fail(str(error), code=2) from None
    except UnreportedMarkerError as error:  # the proof failed: a bug, said loudly, files written, manifest not
        raise fail(f"{error}; this is a bug of the upgrade: the project's manifest was not updated", code=3) from None
    print_report(report)
    if report.conflicts:
        raise fail(f"{len(report.conflicts)} conflict(s) to resolve: {', '.join(report.conflicts)}")


def print_report(report: UpgradeReport) -> None:
    """The upgrade's report as a table, one row per outcome and file, then its warnings."""
    outcomes = report.outcomes()
    title = f"upgrade {level_name(report.from_level)} -> {level_name(report.to_level)}"
    table = Table("outcome", "file", title=title)
    for outcome, paths in outcomes.items():
        for path in paths if outcome in ("merged", "conflict") else grouped(paths):
            table.add_row(outcome, path)
    console.print(table)
    console.print(", ".join(f"{len(paths)} {outcome.split(' (')[0]}" for outcome, paths in outcomes.items() if paths))
    if report.relocked:
        console.print("uv.lock updated (`uv lock`)")
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)

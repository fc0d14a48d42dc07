"""The generator's command line: ``python create_mlops_structure.py`` (argparse, standard library only, so it
runs before anything is installed) and ``tripcast new`` / ``tripcast upgrade`` share these functions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tripcast.generator.options import (
    FOLDER_PURPOSES,
    PROJECT_TYPE_FOLDERS,
    PROJECT_TYPES,
    ProjectOptions,
    check_name_is_free,
)
from tripcast.generator.render import render_project
from tripcast.generator.selection import load_source, project_folders
from tripcast.generator.write import write_project
from tripcast.levels import Level

LEVEL_NAMES = tuple(level.name.lower() for level in Level)


class UsageError(ValueError):
    """Bad input on the command line: the message names the option."""


def parse_level(name: str) -> Level:
    """``beginner`` -> :attr:`Level.BEGINNER`; anything else a :class:`UsageError` naming ``--level``."""
    if name.lower() not in LEVEL_NAMES:
        raise UsageError(f"--level {name!r}: expected one of {', '.join(LEVEL_NAMES)}")
    return Level[name.upper()]


def _folder_reason(folder: str, level: Level) -> str:
    return FOLDER_PURPOSES.get(folder, f"kept from level {level.name.lower()}")


def dry_run_text(files: dict[str, bytes], options: ProjectOptions, folders: frozenset[str] = frozenset()) -> str:
    """The tree of a rendering, one line per folder with why it is there (root folders: the guide's "When to
    Use"; packages and test folders: their level). ``folders`` the project keeps but no file fills (``data/``)
    are listed as empty."""
    lines = [f"{options.project_name}/  ({options.level.name.lower()}, {options.project_type}: {len(files)} files)"]
    filled = {path.split("/", 1)[0] for path in files if "/" in path}
    for root in sorted(filled | folders):
        empty = "" if root in filled else " (empty at this level)"
        lines.append(f"  {root + '/':<34} {_folder_reason(root, options.level)}{empty}")
        if root in ("src", "tests"):
            lines.extend(_subfolder_lines(files, root, options))
    top_files = sorted(path for path in files if "/" not in path)
    lines.append(f"  {'(files)':<34} {', '.join(top_files)}")
    return "\n".join(lines)


def _subfolder_lines(files: dict[str, bytes], root: str, options: ProjectOptions) -> list[str]:
    depth = 3 if root == "src" else 2
    folders = sorted(
        {
            "/".join(path.split("/")[:depth])
            for path in files
            if path.startswith(root + "/") and path.count("/") >= depth
        }
    )
    out = []
    for folder in folders:
        name = folder.split("/")[-1]
        if root == "src":
            reason = f"{options.import_name}.{name}: its modules up to level {options.level.name.lower()}"
        else:
            reason = f"the tests of the parts this project holds ({name})"
        out.append(f"    {folder + '/':<32} {reason}")
    return out


def list_text(source: Path) -> str:
    """Every level with its root folders, and every type with the folders it keeps."""
    tree = load_source(source)
    lines = ["Levels (each includes the ones above it):"]
    for level in Level:
        folders = [f for f in tree.levels.folders_at(level) if "/" not in f]
        packages = len(tree.levels.packages_at(level))
        lines.append(f"  {level.name.lower():<13} folders: {', '.join(folders)}; {packages} tagged packages")
    lines.append("Types (root folders kept, within the level's):")
    for name in PROJECT_TYPES:
        wanted = PROJECT_TYPE_FOLDERS[name]
        lines.append(f"  {name:<13} {'all folders' if wanted is None else ', '.join(wanted)}")
    return "\n".join(lines)


def generate(args: argparse.Namespace) -> str:
    """Render (and unless ``--dry-run`` write) the project the arguments describe; the text to print."""
    options = ProjectOptions(args.project_name, parse_level(args.level), args.type)
    source = Path(args.source).resolve()
    check_name_is_free(options, source)
    files = render_project(source, options)
    if args.dry_run:
        return dry_run_text(files, options, project_folders(load_source(source), options))
    target = write_project(files, options, Path(args.output), source, lock_dependencies=not args.no_lock)
    return f"created {target} ({len(files)} files); next: cd {target} && make demo"


def upgrade(args: argparse.Namespace) -> tuple[str, bool]:
    """Upgrade the project in ``--project`` to ``--level``: the report as text, and whether it has conflicts."""
    from tripcast.generator.upgrade import upgrade_project

    report = upgrade_project(Path(args.project), parse_level(args.level), Path(args.source) if args.source else None)
    lines = [f"upgraded {args.project} to {args.level}"]
    for label in ("added", "updated", "merged", "conflicts"):
        names = getattr(report, label)
        lines.append(f"  {label}: {len(names)}" + "".join(f"\n    {name}" for name in names))
    if report.conflicts:
        lines.append("resolve the conflict markers in the files listed under conflicts, then run make test")
    return "\n".join(lines), bool(report.conflicts)


def _parser(home: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="create_mlops_structure.py",
        description="Cut a working MLOps project at your level. `upgrade --level L` grows a generated one.",
    )
    parser.add_argument("--project-name", help="distribution and CLI name, e.g. my-ml-project")
    parser.add_argument("--level", default="beginner", help=f"one of {', '.join(LEVEL_NAMES)} (default beginner)")
    parser.add_argument("--type", default="enterprise", help=f"one of {', '.join(PROJECT_TYPES)} (default enterprise)")
    parser.add_argument("--output", default=".", help="the project is written to OUTPUT/<project-name>")
    parser.add_argument("--source", default=str(home), help="the source tree to cut (default: this one)")
    parser.add_argument("--dry-run", action="store_true", help="print the tree and why each folder is there")
    parser.add_argument("--list", action="store_true", help="show the levels and types with their folders")
    parser.add_argument("--no-lock", action="store_true", help="skip `uv lock` in the new project (tests)")
    return parser


def _upgrade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="create_mlops_structure.py upgrade")
    parser.add_argument("--level", required=True, help=f"the target level: one of {', '.join(LEVEL_NAMES)}")
    parser.add_argument("--project", default=".", help="the generated project (default: here)")
    parser.add_argument("--source", default=None, help="the source tree (default: the manifest's)")
    return parser


def main(home: Path, argv: list[str] | None = None) -> int:
    """Run the command (``home``: the default source tree, the folder of ``create_mlops_structure.py``);
    bad input (or a failed upgrade) prints one line to stderr and returns 2; an upgrade with conflicts returns 1."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["upgrade"]:
            text, conflicts = upgrade(_upgrade_parser().parse_args(argv[1:]))
            print(text)
            return 1 if conflicts else 0
        args = _parser(home).parse_args(argv)
        if args.list:
            print(list_text(Path(args.source)))
            return 0
        if not args.project_name:
            raise UsageError("--project-name is required (e.g. --project-name my-ml-project)")
        print(generate(args))
    except (ValueError, OSError, RuntimeError) as error:  # upgrade: a failed merge tool, an unreported marker
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0

"""``tripcast new``: the project generator (``create_mlops_structure.py``) as a command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated

import typer

from tripcast.bootstrap import load_settings
from tripcast.cli.console import console, fail, user_errors

app = typer.Typer()


def _generate(**values: object) -> None:
    """Generate with argparse-style values (the script's code path); bad input is one line and exit status 2."""
    from tripcast.generator.command import generate

    try:
        text = generate(argparse.Namespace(**values))
    except (ValueError, OSError) as error:
        raise fail(str(error), code=2) from None
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command()
@user_errors
def new(
    project_name: Annotated[str, typer.Option("--project-name", help="e.g. my-ml-project")] = "",
    level: Annotated[str, typer.Option(help="beginner, intermediate, advanced or expert")] = "beginner",
    project_type: Annotated[
        str, typer.Option("--type", help="academic, webapp, service, enterprise or genai")
    ] = "enterprise",
    output: Annotated[str, typer.Option(help="the project goes to OUTPUT/<project-name> (default: here)")] = ".",
    source: Annotated[Path | None, typer.Option(help="the source tree to cut (default: the settings' home)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the tree and why each folder is there")] = False,
    show_list: Annotated[bool, typer.Option("--list", help="show the levels and types with their folders")] = False,
    no_lock: Annotated[bool, typer.Option("--no-lock", help="skip `uv lock` in the new project")] = False,
) -> None:
    """Cut a working project at your level from this one (DOCS/generator.md)."""
    from tripcast.generator.command import list_text

    source = source or load_settings().home
    if source is None:
        raise fail("--source: no source tree (set TRIPCAST_HOME or pass --source)", code=2)
    if show_list:
        console.print(list_text(source), highlight=False, markup=False, soft_wrap=True)
        return
    if not project_name:
        raise fail("--project-name is required (e.g. --project-name my-ml-project)", code=2)
    _generate(
        project_name=project_name, level=level, type=project_type, output=output,
        source=str(source), dry_run=dry_run, no_lock=no_lock,
    )  # fmt: skip

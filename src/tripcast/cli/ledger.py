"""Ledger commands: ``tripcast models history [--json]`` and ``tripcast rollback [--to VERSION] --reason R``."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, print_json, user_errors
from tripcast.cli.guards import refuse_when_locked
from tripcast.cli.options import context

#: Root-level commands (``tripcast rollback``).
app = typer.Typer()
#: Commands of the ``tripcast models`` group (``tripcast models history``).
models_app = typer.Typer()


@models_app.command("history")
@user_errors
def history(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most the newest LIMIT rows.")] = 100,
) -> None:
    """The promotion ledger: every alias move of the model, who, when, from and to which version, and why."""
    ctx = context(None)
    name = ctx.settings.model_name
    entries = ctx.ml.rollback.history(name, limit=limit)
    if as_json:
        print_json({"model": name, "entries": [entry.as_dict() for entry in entries]})
        return
    if not entries:
        console.print(f"the ledger holds no alias moves of {name} yet: `tripcast promote` writes the first")
        return
    table = Table("#", "at (UTC)", "alias", "from", "to", "actor", "approver", "reason", title=f"{name} ledger")
    for entry in entries:
        table.add_row(
            str(entry.id),
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            entry.alias,
            f"v{entry.from_version}" if entry.from_version else "-",
            f"v{entry.to_version}" if entry.to_version else "-",
            entry.actor,
            entry.approver or "-",
            entry.reason,
        )
    console.print(table)


@app.command()
@user_errors
@refuse_when_locked
def rollback(
    reason: Annotated[str, typer.Option(help="Why the champion goes back (recorded in the ledger and audit trail).")],
    to: Annotated[
        str | None, typer.Option("--to", help="A version the ledger shows was champion (default: the previous one).")
    ] = None,
    actor: Annotated[str | None, typer.Option("--as", help="Who rolls back (default: OS user).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Move the champion back to the previous ledger entry's version (or ``--to``); servers follow on their own."""
    ctx = context(None)
    entry = ctx.ml.rollback.rollback(
        ctx.settings.model_name, actor=actor or getpass.getuser(), reason=reason, to_version=to
    )
    if as_json:
        print_json(entry.as_dict())
        return
    console.print(
        f"[green]champion[/] of {entry.model}: v{entry.from_version} -> v{entry.to_version} (ledger #{entry.id})"
    )

"""``tripcast audit``: show and verify the audit trail of model and data changes."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from tripcast.cli.console import console, fail, user_errors
from tripcast.cli.options import context
from tripcast.core.domain.audit import AuditChainBrokenError
from tripcast.core.services.audit import AuditTrailService

app = typer.Typer()


@app.command()
@user_errors
def audit(
    subject: Annotated[str, typer.Option(help="Only subjects starting with this, e.g. model: or dataset:")] = "",
    limit: Annotated[int, typer.Option(min=1)] = 50,
    verify: Annotated[
        bool, typer.Option(help="Check every row's HMAC and the signed head; exit 3 naming the first bad row.")
    ] = False,
    adopt_legacy: Annotated[
        bool, typer.Option(help="Check a trail from older versions (unkeyed) and sign it as a legacy segment.")
    ] = False,
) -> None:
    """Show the audit trail of model and data changes (newest first)."""
    trail = context(None).audit_trail
    if adopt_legacy:
        adopted = trail.adopt_legacy(actor=getpass.getuser())
        console.print(f"[green]adopted[/] {adopted:,} legacy rows; new events are chained with TRIPCAST_AUDIT_KEY")
    if verify:
        _verify_audit(trail)
    table = Table("at", "actor", "action", "subject", "details", title="audit trail")
    for event in trail.recent(subject, limit):
        shown = {k: v for k, v in event.details.items() if k.startswith(("promotion.gate", "rows_", "val_rmse"))}
        table.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.actor, event.action, event.subject, json.dumps(shown))
    console.print(table)


#: Exit status of `tripcast audit --verify` on a trail that fails its check.
AUDIT_BROKEN_EXIT_CODE = 3


def _verify_audit(service: AuditTrailService) -> None:
    try:
        trail = service.verify()
    except AuditChainBrokenError as exc:
        raise fail(f"audit trail broken: {exc}", code=AUDIT_BROKEN_EXIT_CODE) from None
    legacy = f", {trail.legacy_events:,} of them legacy (unkeyed)" if trail.legacy_events else ""
    console.print(
        f"[green]audit trail intact[/]: {trail.events:,} events verified{legacy}; "
        f"signed head: row {trail.last_id}, hash {trail.head_hash[:16]}",
        highlight=False,
    )

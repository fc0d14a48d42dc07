"""``tripcast tokens``: create, revoke and list the API keys that callers send as ``Authorization: Bearer``."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from tripcast.bootstrap import bootstrap
from tripcast.bootstrap.access import api_key_store
from tripcast.cli.console import console, user_errors
from tripcast.cli.guards import load_settings
from tripcast.core.domain.access import ROLE_PERMISSIONS, Role, parse_role
from tripcast.core.ports.access import ApiKeyStore

app = typer.Typer(no_args_is_help=True, help="API keys with roles: create (shown once), revoke, list.")

ROLES_HELP = "; ".join(f"{role.value}: {', '.join(sorted(p.value for p in ROLE_PERMISSIONS[role]))}" for role in Role)


def _store() -> ApiKeyStore:
    settings = load_settings()
    # Key events go to the audit trail, wired by the composition root like every other audited change.
    return api_key_store(settings, audit=bootstrap(settings).audit)


@app.command()
@user_errors
def create(
    name: Annotated[str, typer.Option("--name", help="Who holds the key, e.g. checkout-service or alice")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {ROLES_HELP}")],
) -> None:
    """Create a key and print it once, as the last line of stdout (it cannot be shown again)."""
    chosen = parse_role(role)
    token = _store().create(name, chosen, actor=getpass.getuser())
    console.print(f"created API key [bold]{name}[/] with role [bold]{chosen.value}[/]; store it now, it is not kept:")
    # Plain, unwrapped, last: `tripcast tokens create ... | tail -1` captures exactly the key.
    typer.echo(token)


@app.command()
@user_errors
def revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke a key: servers refuse it within TRIPCAST_API_KEY_CACHE_SECONDS (default 5 s)."""
    _store().revoke(name, actor=getpass.getuser())
    console.print(f"revoked API key [bold]{name}[/]")


@app.command("list")
@user_errors
def list_keys(
    revoked: Annotated[bool, typer.Option("--revoked", help="Also show revoked keys")] = False,
) -> None:
    """Names, roles and creation times of the keys; never the keys themselves."""
    table = Table("name", "role", "created", "created by", "revoked", title="API keys")
    for key in _store().list_keys(include_revoked=revoked):
        table.add_row(
            key.name,
            key.role.value,
            f"{key.created_at:%Y-%m-%d %H:%M:%S}",
            key.created_by,
            f"{key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else "-",
        )
    console.print(table)

"""``tripcast models request|approve|reject|approvals``: the approval workflow, by identities with roles.

cli/app.py adds these commands to the ``models`` group of :mod:`tripcast.cli.models`.

Every command acts as the API key given with ``--as`` (or ``TRIPCAST_TOKEN``), resolved through the same key
store as the HTTP API, so the CLI and the API enforce the same roles and the same policy.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from tripcast.bootstrap import Tripcast
from tripcast.cli.console import console, print_json, step, user_errors
from tripcast.cli.guards import refuse_when_locked
from tripcast.cli.options import context
from tripcast.core.domain.access import Identity
from tripcast.core.domain.approval import ApprovalRequest, ApprovalState, approval_payload
from tripcast.core.domain.errors import FieldProblem, InvalidInputError

app = typer.Typer()

TOKEN_ENV = "TRIPCAST_TOKEN"
AsOption = Annotated[
    str | None,
    typer.Option("--as", help=f"API key to act as (default: ${TOKEN_ENV}); its role decides what is allowed."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the request as JSON.")]


def identity_of(ctx: Tripcast, token: str | None) -> Identity:
    """The identity of ``token`` (or ``$TRIPCAST_TOKEN``) in the environment's key store; one-line error otherwise."""
    from tripcast.bootstrap.access import authenticator_from_settings

    token = (token or os.environ.get(TOKEN_ENV, "")).strip()
    if not token:
        raise InvalidInputError([FieldProblem("--as", f"give an API key with --as or ${TOKEN_ENV}")])
    authenticator = authenticator_from_settings(ctx.settings)
    try:
        identity = authenticator.identify(token)
    finally:
        authenticator.close()
    if identity is None:
        raise InvalidInputError([FieldProblem("--as", "unknown or revoked API key")])
    return identity


def _show(request: ApprovalRequest, as_json: bool) -> None:
    if as_json:
        print_json(approval_payload(request))
        return
    gate = request.gate
    verdict = "" if gate is None else f"; gate {'passed' if gate.passed else 'failed'}: {gate.reason}"
    console.print(
        f"request [bold]{request.request_id}[/]: {request.model} v{request.version} is "
        f"[bold]{request.state.value}[/]{verdict}"
    )


def _prepare_validation_month(ctx: Tripcast, version: str) -> None:
    from tripcast.cli.data import ensure_month_processed

    promotion = ctx.ml.promotion
    candidate = promotion.candidate(ctx.settings.model_name, version)
    ensure_month_processed(ctx, promotion.validation_month(candidate))


@app.command("request")
@user_errors
@refuse_when_locked
def request_command(
    version: Annotated[str, typer.Argument(help="The version to promote (number or alias).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it should become champion.")],
    token: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask for a version to become champion; the environment's policy may approve it at once."""
    ctx = context(None)
    requester = identity_of(ctx, token)
    _prepare_validation_month(ctx, version)
    with step(f"gating v{version} for an approval request"):
        request = ctx.approvals.request(ctx.settings.model_name, version, requester=requester, reason=reason)
    _show(request, as_json)


@app.command()
@user_errors
@refuse_when_locked
def approve(
    request_id: Annotated[str, typer.Argument(help="The request's id (from `tripcast models request`).")],
    note: Annotated[str, typer.Option("--note", help="Recorded with the approval.")] = "",
    token: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending request under the environment's policy, then promote its version."""
    ctx = context(None)
    approver = identity_of(ctx, token)
    request = ctx.approvals.get(request_id)
    _prepare_validation_month(ctx, request.version)
    with step(f"checking the {ctx.approvals.policy.environment} policy for request {request.request_id}"):
        done = ctx.approvals.approve(request.request_id, approver=approver, note=note)
    _show(done, as_json)


@app.command()
@user_errors
def reject(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
    token: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a pending request; nothing is promoted."""
    ctx = context(None)
    done = ctx.approvals.reject(request_id, approver=identity_of(ctx, token), reason=reason)
    _show(done, as_json)


@app.command("approvals")
@user_errors
def list_command(
    state: Annotated[str | None, typer.Option("--state", help="pending, approved, promoted, rejected, failed")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approval requests of the model, newest first."""
    ctx = context(None)
    chosen = _parse_state(state) if state else None
    requests = ctx.approvals.list_requests(model=ctx.settings.model_name, state=chosen)
    if as_json:
        print_json({"requests": [approval_payload(r) for r in requests]})
        return
    table = Table("id", "version", "state", "requested by", "decided by", "created", title="approval requests")
    for r in requests:
        table.add_row(
            r.request_id, r.version, r.state.value, r.requested_by, r.decided_by or "-", f"{r.created_at:%F %R}"
        )
    console.print(table)


def _parse_state(value: str) -> ApprovalState:
    try:
        return ApprovalState(value.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ApprovalState)
        raise InvalidInputError([FieldProblem("--state", f"{value!r} is not a state; use one of {allowed}")]) from None


__all__ = ["app"]

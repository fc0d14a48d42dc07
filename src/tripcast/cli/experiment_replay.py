"""``tripcast experiments replay``: a real month of trips as timed traffic through a running experiment.

Each valid trip of the month is sent as one prediction request (to ``--url``, or in-process), its real
duration is recorded as the ground truth of the request id that answered, and the experiment is analysed.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tripcast.cli.console import console, err_console, print_json, user_errors
from tripcast.cli.options import context
from tripcast.core.domain.month import Month

app = typer.Typer(no_args_is_help=True)

#: ``tripcast serve``'s default address.
LOCAL_API = "http://127.0.0.1:8000"


@app.command()
@user_errors
def replay(
    experiment_id: Annotated[str, typer.Argument(help="The running experiment to replay traffic through.")],
    month: Annotated[str, typer.Option("--month", help="The month of trips to replay, YYYY-MM.")],
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Replay a reproducible sample of this many trips.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="Requests per second (default: as fast as it goes).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help=f"The API to send to, e.g. {LOCAL_API} (default: in-process, no HTTP)."),
    ] = None,
    max_in_flight: Annotated[int, typer.Option("--max-in-flight", min=1, help="Outstanding requests at most.")] = 200,
    token: Annotated[
        str | None, typer.Option("--as", help="API key sent as bearer token (default: $TRIPCAST_TOKEN, if set).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis JSON (only JSON) on stdout.")] = False,
) -> None:
    """Replay a month's trips through a running experiment, record their real durations, print the analysis."""
    from tripcast.bootstrap.experiment_replay import experiment_replay, month_requests
    from tripcast.bootstrap.experiments import analysis_payload
    from tripcast.core.services.experiment_replay import ReplaySettings, ensure_replayable

    settings = ReplaySettings(rate=rate, max_in_flight=max_in_flight)
    chosen = Month.parse(month)
    ctx = context(None)
    ensure_replayable(ctx.experiments.service, experiment_id, settings)  # before loading a month and models
    requests = month_requests(ctx, chosen, limit)
    err_console.print(f"replaying {len(requests):,} trips of {chosen} through {experiment_id} ({url or 'in-process'})")
    bearer = token or os.environ.get("TRIPCAST_TOKEN") or None
    outcome = experiment_replay(ctx, settings, url=url, token=bearer).run(experiment_id, requests, settings)
    err_console.print(
        f"sent {outcome.sent:,} ({outcome.failed:,} failed, {outcome.exposed:,} in the experiment) in "
        f"{outcome.seconds:.1f} s = {outcome.achieved_rate:,.0f} requests/s; {outcome.recorded:,} outcomes recorded"
    )
    if outcome.first_error is not None:
        err_console.print(f"first failure: {outcome.first_error}")
    payload = analysis_payload(outcome.analysis)
    if as_json:
        print_json(payload)
        return
    result = outcome.analysis
    console.print(
        f"verdict [bold]{result.verdict.value}[/]: effect {result.effect:+.4g} "
        f"[{result.ci_low:+.4g}, {result.ci_high:+.4g}], SRM p={result.srm_p:.3g}, n per arm {result.n_per_arm}"
    )
    console.print(f"rule: {result.rule}")

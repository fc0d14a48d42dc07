"""Serving commands: ``serve`` (HTTP API), ``score`` (batch files), ``stream`` (Redis Streams), ``optimize``
(compile a version) and ``dashboard`` (Streamlit). Mounted at the top level of ``tripcast``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli.console import console, fail, user_errors

app = typer.Typer(no_args_is_help=True, help="Serve, score and stream trip-duration predictions.")

#: ``--http`` choices: httptools gets Tripcast's protocol, which refuses shed requests before ASGI.
HTTP_PROTOCOLS = {"httptools": "tripcast.api.protocol:SheddingHttpToolsProtocol", "h11": "h11"}


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model)")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    max_in_flight: Annotated[
        int | None, typer.Option(min=1, help="Prediction requests served at once per worker (default from settings)")
    ] = None,
    backlog: Annotated[int | None, typer.Option(min=1, help="Kernel accept backlog (default from settings)")] = None,
    loop: Annotated[str, typer.Option(help="Event loop: uvloop (fastest) or asyncio")] = "uvloop",
    http: Annotated[str, typer.Option(help="HTTP parser: httptools (fastest) or h11")] = "httptools",
) -> None:
    """Serve the champion over HTTP (FastAPI + uvicorn); follows the registry alias without restarts.

    Overload protection (see performance/README.md): beyond ``--max-in-flight`` requests, or while the
    event loop lags more than ``TRIPCAST_MAX_LOOP_LAG_MS``, ``/v1/`` requests get an immediate 503 with
    ``Retry-After``; health and metrics always answer. With httptools the refusal happens in the HTTP
    protocol as soon as the headers are parsed (``tripcast.api.protocol``), the cheapest place to say no.
    uvicorn's ``--limit-concurrency`` is not used: it counts open keep-alive connections, refuses health
    probes too and logs a line per refusal.
    """
    import uvicorn

    from tripcast.bootstrap import configure_logs
    from tripcast.bootstrap.serving import Settings

    if loop not in {"uvloop", "asyncio"}:
        raise fail(f"--loop must be uvloop or asyncio; got {loop!r}")
    if http not in HTTP_PROTOCOLS:
        raise fail(f"--http must be one of {', '.join(HTTP_PROTOCOLS)}; got {http!r}")
    if max_in_flight is not None:
        # Workers build their app from the environment (uvicorn --factory), so settings travel there.
        os.environ["TRIPCAST_MAX_IN_FLIGHT"] = str(max_in_flight)
    settings = Settings()
    configure_logs(settings)
    console.print(
        f"[bold]serving[/] on http://{host}:{port} with {workers} worker(s) ({loop} + {http}, "
        f"max {settings.max_in_flight} in flight, loop-lag budget {settings.max_loop_lag_ms:g} ms); docs at /docs"
    )
    with shared_metrics_dir(workers) as metrics_dir:
        if metrics_dir:
            console.print(f"metrics of all {workers} workers merged through {metrics_dir}")
        uvicorn.run(
            "tripcast.api.asgi:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            loop=loop,
            http=HTTP_PROTOCOLS[http],
            backlog=backlog or settings.serve_backlog,
            access_log=False,  # per-request log lines cost more than the prediction; /metrics counts requests
            log_config=None,  # uvicorn's lines go through Tripcast's structured logs (configured by bootstrap)
        )


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[str | None]:
    """A fresh prometheus multiprocess directory for several workers (unless the operator set one).

    Set in the environment before uvicorn spawns the workers, which import prometheus_client afresh
    and so start in multiprocess mode; /metrics on any worker then reports all of them.
    """
    from tripcast.bootstrap.serving import MULTIPROCESS_DIR_ENV

    if workers < 2:
        yield None
        return
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        yield os.environ[MULTIPROCESS_DIR_ENV]
        return
    directory = tempfile.mkdtemp(prefix="tripcast-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = directory
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROCESS_DIR_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


@app.command()
@user_errors
def stream(
    input_stream: Annotated[str, typer.Option("--input", help="Redis stream of trip events")] = "tripcast:trips",
    output_stream: Annotated[
        str, typer.Option("--output", help="Redis stream for predictions")
    ] = "tripcast:predictions",
    dead_letter: Annotated[
        str, typer.Option(help="Redis stream for events that cannot be scored (each with its reason)")
    ] = "tripcast:trips:dead",
    group: Annotated[str, typer.Option(help="Consumer group")] = "tripcast-scorers",
    consumer: Annotated[str | None, typer.Option(help="Consumer name (default host-pid)")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (default TRIPCAST_CACHE_URL)")] = None,
    claim_idle_ms: Annotated[int, typer.Option(help="Reclaim entries pending this long on other consumers")] = 30_000,
    max_deliveries: Annotated[
        int, typer.Option(min=1, help="Dead-letter an event delivered more often (it keeps killing consumers)")
    ] = 5,
) -> None:
    """Score trip events from a Redis stream until interrupted (Ctrl-C finishes the current batch).

    An event that cannot be scored is dead-lettered alone, with its reason; the rest are scored. Redis
    going away is retried with backoff.
    """
    from tripcast.bootstrap import bootstrap
    from tripcast.bootstrap.serving import StreamSettings

    name = consumer or f"{os.uname().nodename}-{os.getpid()}"
    wanted = StreamSettings(
        input_stream, output_stream, dead_letter, group, name, redis_url, claim_idle_ms, max_deliveries
    )
    scorer, holder = bootstrap().serving.stream_consumer(wanted)
    holder.start()
    holder.require()  # refuse to start consuming without a model
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(
        f"[bold]consuming[/] {input_stream} as {group}/{name} -> {output_stream} (dead letters: {dead_letter})"
    )
    try:
        total = scorer.run(stop)
    except KeyboardInterrupt:
        stop.set()
        total = None
    finally:
        holder.stop()
    if total is not None:
        console.print(f"scored {total.scored:,}, dead-lettered {total.dead_lettered:,}, reclaimed {total.reclaimed:,}")
        for reason, count in sorted(total.reasons.items(), key=lambda kv: -kv[1]):
            console.print(f"  [yellow]{count:,}[/] dead-lettered: {reason}")


@app.command()
@user_errors
def dashboard(
    port: Annotated[int, typer.Option(help="TCP port")] = 8501,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
) -> None:
    """Open the Streamlit dashboard: predict a trip by zone names, browse registered models."""
    from importlib.resources import files

    # Package data, not a path climbed from this file: works from an installed wheel as from the checkout.
    script = Path(str(files("tripcast.dashboard") / "app.py"))
    if not script.exists():
        raise fail(f"dashboard script missing: {script}")
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", host, "--server.headless", "true",
    ]  # fmt: skip
    console.print(f"[bold]dashboard[/] on http://{host}:{port}")
    raise typer.Exit(subprocess.call(command))

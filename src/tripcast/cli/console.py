"""Shared Rich console and the rule that user errors end in one message, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.locks import LOCK_HELD_EXIT_CODE

console = Console()
err_console = Console(stderr=True)

#: What SQLite reports when another process holds a database's write lock past the busy timeout.
SQLITE_BUSY = "database is locked"
BUSY_MESSAGE = "a database stayed locked by another process past the busy timeout; try again when it has finished"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr and return the exit to raise."""
    # soft_wrap: one line however narrow the terminal (or 80 columns when piped), so logs and tests see it whole.
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one clear message and exit code 1 (a SQLite database another
    process keeps locked: exit 75, try again later)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TripcastError as exc:
            raise fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename or exc}") from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename or exc}") from None
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None
        except Exception as exc:
            if SQLITE_BUSY not in str(exc):
                raise
            # Busy, not broken: another process is writing (or stuck in a write); exit 75 says try again.
            raise fail(BUSY_MESSAGE, code=LOCK_HELD_EXIT_CODE) from None

    return wrapper


@contextmanager
def step(description: str) -> Iterator[None]:
    """A spinner with elapsed time for a step whose length is unknown."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(bar_width=None),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        progress.add_task(description, total=None)
        yield
    err_console.print(f"[green]✓[/] {description}")


def print_json(payload: dict[str, Any]) -> None:
    """Machine-readable output on stdout, nothing else on that stream."""
    typer.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))

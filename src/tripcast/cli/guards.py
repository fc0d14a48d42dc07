"""Guards every command of ours shares: settings errors and held locks end in one line, not a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tripcast.bootstrap import load_settings
from tripcast.cli.console import fail
from tripcast.core.ports.locks import LockHeldError

__all__ = ["load_settings", "refuse_when_locked"]


def refuse_when_locked(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LockHeldError` into its one-line message and exit status 75 (try again later)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LockHeldError as exc:
            raise fail(str(exc), code=exc.exit_code) from None

    return wrapper

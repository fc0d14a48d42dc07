"""Guards every command of ours shares: settings errors and held locks end in one line, not a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from tripcast.cli.console import fail
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.ports.locks import LockHeldError
from tripcast.settings import Settings


def load_settings() -> Settings:
    """Settings from the environment; a bad or missing value is an :class:`InvalidInputError` naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            FieldProblem(
                "TRIPCAST_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else "settings",
                str(error["msg"]).removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None


def refuse_when_locked(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LockHeldError` into its one-line message and exit status 75 (try again later)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LockHeldError as exc:
            raise fail(str(exc), code=exc.exit_code) from None

    return wrapper

"""Named exclusive locks, so that two processes never change the same thing at once.

Used around state-changing commands: a promotion (one per model), the validation or pipeline run
of a month. Whoever comes second is refused at once with :class:`LockHeldError`, which names the
lock and, when the adapter knows, who holds it and since when.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from tripcast.core.domain.errors import TripcastError

#: Exit status of a command refused because another process holds its lock (sysexits EX_TEMPFAIL:
#: nothing is wrong with the request, try again when the other run has finished).
LOCK_HELD_EXIT_CODE = 75


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a lock, as far as the adapter can tell."""

    description: str
    since: datetime | None = None

    def __str__(self) -> str:
        since = f" since {self.since:%Y-%m-%d %H:%M:%S %Z}".rstrip() if self.since is not None else ""
        return f"{self.description}{since}"


class LockHeldError(TripcastError):
    """Another process holds the lock; nothing was done."""

    exit_code = LOCK_HELD_EXIT_CODE

    def __init__(self, lock: str, holder: LockHolder | None = None) -> None:
        self.lock = lock
        self.holder = holder
        by = f"held by {holder}" if holder is not None else "held by another process"
        super().__init__(f"lock {lock!r} is {by}; nothing was changed, try again when it has finished")


class Locks(ABC):
    """Exclusive, non-blocking locks by name; released when the block ends or the holder dies."""

    @abstractmethod
    def hold(self, name: str, purpose: str) -> AbstractContextManager[None]:
        """Hold ``name`` for the ``with`` block; raise :class:`LockHeldError` at once if it is taken.

        ``purpose`` (e.g. ``"tripcast promote v3"``) is shown to whoever is refused.
        """


def promotion_lock(model_name: str) -> str:
    """The lock every alias move of ``model_name`` takes."""
    return f"promote-{model_name}"


def month_lock(service: str, month: object) -> str:
    """The lock every writer of a month's processed data takes (``validate``, ``pipeline run``)."""
    return f"month-{service}-{month}"

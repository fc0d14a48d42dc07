"""Port of the promotion ledger: alias moves and their append-only history, written together."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from tripcast.core.domain.ledger import AliasMove, LedgerEntry, LedgerNote


class PromotionLedger(ABC):
    """Moves aliases of registered models and appends one ledger row per move, atomically.

    Adapters keep the ledger in the registry's own database so the alias rows and the ledger rows
    commit in one transaction: a reader never sees an alias the ledger does not explain, nor a row
    for a move that did not happen.
    """

    @abstractmethod
    def move(self, model: str, moves: Sequence[AliasMove], note: LedgerNote) -> list[LedgerEntry]:
        """Apply ``moves`` (all or none) and append their rows; return the rows written.

        Raises :class:`~tripcast.core.domain.ledger.StaleAliasError` when an alias is no longer at its
        ``expected_from``, and :class:`~tripcast.core.domain.errors.NotFoundError` for an unknown version.
        """

    @abstractmethod
    def history(self, model: str | None = None, *, alias: str | None = None, limit: int = 100) -> list[LedgerEntry]:
        """Ledger rows, oldest first (the newest ``limit``), optionally for one model and alias."""

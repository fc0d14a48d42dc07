"""The promotion ledger's records: which version held which alias of a model, since when, and why.

Generic: a ledger entry names a model, an alias and two version numbers; nothing here knows about taxis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tripcast.core.domain.errors import TripcastError

#: ``expected_from`` value meaning "move whatever the alias points at now" (no compare-and-set).
ANY_VERSION = "*"


@dataclass(frozen=True, slots=True)
class AliasMove:
    """Point ``alias`` at ``to_version``, provided it still points at ``expected_from`` ("" = unset).

    ``expected_from`` is what the mover read before deciding; a move whose alias has changed since loses
    with :class:`StaleAliasError` (compare-and-set). :data:`ANY_VERSION` skips the check.
    """

    alias: str
    to_version: str
    expected_from: str = ANY_VERSION


@dataclass(frozen=True, slots=True)
class LedgerNote:
    """Why a set of alias moves happened, recorded on each of their ledger rows."""

    actor: str
    reason: str
    gate_metrics: dict[str, float] = field(default_factory=dict)
    approver: str = ""
    experiment_id: str = ""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of the append-only ledger: ``alias`` of ``model`` moved from one version to another."""

    id: int
    at: datetime
    actor: str
    model: str
    alias: str
    from_version: str
    to_version: str
    reason: str
    gate_metrics: dict[str, float]
    approver: str
    experiment_id: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``tripcast models history --json``, ``GET /v1/models/history``)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "model": self.model,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "gate_metrics": dict(self.gate_metrics),
            "approver": self.approver,
            "experiment_id": self.experiment_id,
        }


class StaleAliasError(TripcastError):
    """An alias moved since the mover read it: another promotion won this decision; nothing was changed."""

    def __init__(self, model: str, alias: str, expected: str, found: str) -> None:
        self.model, self.alias, self.expected, self.found = model, alias, expected, found
        super().__init__(
            f"{alias} of {model} is at {_shown(found)}, not {_shown(expected)} as read before deciding: "
            "another promotion won; nothing was changed"
        )


class EmptyLedgerError(TripcastError):
    """Nothing to roll back to: the ledger holds no earlier champion of the model."""


def _shown(version: str) -> str:
    return f"v{version}" if version else "nothing"

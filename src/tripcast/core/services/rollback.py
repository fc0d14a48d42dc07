"""Roll the champion back to an earlier one, in one command, from what the promotion ledger shows.

The move goes through :meth:`Promotion.move_alias`: under the model's promotion lock, audited
(``model.rolled_back``), and with the ledger row written in the alias move's own transaction.
Running servers follow the alias by polling it, so they switch without a restart.
"""

from __future__ import annotations

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.domain.ledger import EmptyLedgerError, LedgerEntry, LedgerNote
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.ledger import PromotionLedger
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.core.services.promotion import CHAMPION, ROLLED_BACK, Promotion

#: How far back a rollback looks for earlier champions.
LEDGER_LOOKBACK = 10_000


class Rollback:
    """``tripcast rollback``: move ``champion`` back to the previous ledger entry's version, or a named one."""

    def __init__(self, *, promotion: Promotion, ledger: PromotionLedger, registry: ModelRegistry, clock: Clock) -> None:
        self.promotion = promotion
        self.ledger = ledger
        self.registry = registry
        self.clock = clock

    def history(self, name: str, *, limit: int = 100) -> list[LedgerEntry]:
        """The newest ``limit`` ledger rows of ``name``, oldest first (``tripcast models history``)."""
        return self.ledger.history(name, limit=limit)

    def target(self, name: str, to_version: str | None = None) -> tuple[str, str]:
        """(current champion, version a rollback would restore); a one-line error when there is none."""
        entries = self.ledger.history(name, alias=CHAMPION, limit=LEDGER_LOOKBACK)
        if not entries:
            raise EmptyLedgerError(f"the ledger holds no champion of {name}: nothing to roll back to; nothing changed")
        current = self.registry.alias_version(name, CHAMPION) or ""
        if to_version is None:
            target = entries[-1].from_version
            if not target:
                raise EmptyLedgerError(
                    f"v{entries[-1].to_version} is the first champion of {name} in the ledger: "
                    "no earlier one to roll back to; nothing changed"
                )
        else:
            target = to_version.strip().removeprefix("v").removeprefix("V")
            champions = sorted({e.to_version for e in entries if e.to_version}, key=_number)
            if target not in champions:
                raise NotFoundError(
                    f"v{target} was never champion of {name} according to the ledger "
                    f"(champions so far: {', '.join('v' + v for v in champions)}); nothing changed"
                )
        if target == current:
            raise InvalidInputError([FieldProblem("to", f"v{target} is the champion already; nothing changed")])
        return current, target

    def rollback(self, name: str, *, actor: str, reason: str, to_version: str | None = None) -> LedgerEntry:
        """Move ``champion`` back (see :meth:`target`); return the ledger row of the move."""
        if not reason.strip():
            raise InvalidInputError([FieldProblem("reason", "say why the champion is rolled back")])
        current, target = self.target(name, to_version)
        details = {
            "promotion.decision": "rolled back",
            "promotion.actor": actor,
            "promotion.reason": reason,
            "promotion.at": self.clock.now().isoformat(timespec="seconds"),
            "rolled_back_from": current,
        }
        outcome = AuditEvent(self.clock.now(), actor, ROLLED_BACK, f"model:{name}/{target}", details)
        self.promotion.move_alias(
            alias=CHAMPION,
            version=target,
            outcome=outcome,
            note=LedgerNote(actor, f"rollback: {reason}"),
            expected_from=current,
        )
        return self.ledger.history(name, alias=CHAMPION, limit=1)[-1]


def _number(version: str) -> int:
    return int(version) if version.isdigit() else -1

"""In-memory promotion ledger over the fake registry (unit tests of promotion and rollback)."""

from __future__ import annotations

from collections.abc import Sequence

from support.fakes_ml import FakeClock, FakeRegistry
from tripcast.core.domain.ledger import ANY_VERSION, AliasMove, LedgerEntry, LedgerNote, StaleAliasError
from tripcast.core.ports.ledger import PromotionLedger


class TaggingRegistry(FakeRegistry):
    """The fake registry, able to tag a version without moving an alias (what the ledger path needs)."""

    def tag_version(self, name: str, version: str, tags: dict[str, str]) -> None:
        self.tags[version].update(tags)


class FakeLedger(PromotionLedger):
    """Moves the fake registry's aliases and appends rows, all or nothing, with the adapter's compare-and-set."""

    def __init__(self, registry: FakeRegistry, *, fail: bool = False) -> None:
        self.registry = registry
        self.rows: list[LedgerEntry] = []
        self.fail = fail

    def move(self, model: str, moves: Sequence[AliasMove], note: LedgerNote) -> list[LedgerEntry]:
        if self.fail:
            raise OSError("registry database unreachable")
        aliases = dict(self.registry.aliases)
        for move in moves:
            found = aliases.get(move.alias, "")
            if move.expected_from != ANY_VERSION and found != move.expected_from:
                raise StaleAliasError(model, move.alias, move.expected_from, found)
        written = []
        for move in moves:
            entry = LedgerEntry(
                len(self.rows) + 1, FakeClock().now(), note.actor, model, move.alias, aliases.get(move.alias, ""),
                move.to_version, note.reason, dict(note.gate_metrics), note.approver, note.experiment_id,
            )  # fmt: skip
            aliases[move.alias] = move.to_version
            self.rows.append(entry)
            written.append(entry)
        self.registry.aliases = {a: v for a, v in aliases.items() if v}
        return written

    def history(self, model: str | None = None, *, alias: str | None = None, limit: int = 100) -> list[LedgerEntry]:
        rows = [r for r in self.rows if (model is None or r.model == model) and (alias is None or r.alias == alias)]
        return rows[-limit:]

"""Promotion through the ledger and one-command rollback, with in-memory fakes of every port."""

from __future__ import annotations

import pytest

from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import FakeAudit, FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeStore
from tripcast.core.domain.errors import InvalidInputError, NotFoundError, PromotionRefusedError
from tripcast.core.domain.ledger import EmptyLedgerError
from tripcast.core.domain.month import Month
from tripcast.core.services.promotion import MOVE_ABANDONED, MOVE_STARTED, PROMOTED, ROLLED_BACK, SWAPPED, Promotion
from tripcast.core.services.rollback import Rollback

NAME = "toy"
VALID = Month.parse("2021-02")


def make(
    rmse: dict[str, float], *, fail: bool = False
) -> tuple[Promotion, Rollback, TaggingRegistry, FakeLedger, FakeAudit]:
    registry = TaggingRegistry(rmse, tags={v: {"valid_month": str(VALID)} for v in rmse})
    ledger, audit = FakeLedger(registry, fail=fail), FakeAudit()
    promotion = Promotion(
        registry=registry, store=FakeStore({VALID: [1.0, 2.0]}), features=FakeFeatures(),
        metrics=FakeMetrics(registry), clock=FakeClock(), audit=audit, locks=FakeLocks(), ledger=ledger,
    )  # fmt: skip
    rollback = Rollback(promotion=promotion, ledger=ledger, registry=registry, clock=FakeClock())
    return promotion, rollback, registry, ledger, audit


def promote(promotion: Promotion, registry: TaggingRegistry, version: str) -> None:
    promotion.promote(registry.get(NAME, version), actor="alice", reason=f"ship v{version}")


def test_promotion_writes_one_ledger_row_with_the_gate_snapshot_and_audits_the_move() -> None:
    promotion, _, registry, ledger, audit = make({"1": 5.0, "2": 4.0})
    promote(promotion, registry, "1")
    promote(promotion, registry, "2")

    assert [(r.from_version, r.to_version, r.actor, r.reason) for r in ledger.rows] == [
        ("", "1", "alice", "ship v1"),
        ("1", "2", "alice", "ship v2"),
    ]
    assert ledger.rows[1].gate_metrics == {
        "candidate.rmse": 4.0,
        "candidate.mae": 2.0,
        "champion.rmse": 5.0,
        "champion.mae": 2.5,
    }
    assert registry.aliases["champion"] == "2"
    assert registry.tags["2"]["promotion.decision"] == "approved"
    assert audit.actions == [MOVE_STARTED, PROMOTED, MOVE_STARTED, PROMOTED]


def test_rollback_moves_the_champion_to_the_previous_entry_with_a_ledger_row_and_audit_event() -> None:
    promotion, rollback, registry, ledger, audit = make({"1": 5.0, "2": 4.0, "3": 3.0})
    for version in ("1", "2", "3"):
        promote(promotion, registry, version)

    entry = rollback.rollback(NAME, actor="bob", reason="live error up")

    assert (entry.from_version, entry.to_version, entry.actor, entry.reason) == (
        "3",
        "2",
        "bob",
        "rollback: live error up",
    )
    assert registry.aliases["champion"] == "2" and len(ledger.rows) == 4
    assert audit.rows[-1].action == ROLLED_BACK and audit.rows[-1].details["rolled_back_from"] == "3"
    assert audit.rows[-1].subject == f"model:{NAME}/2"

    entry = rollback.rollback(NAME, actor="bob", reason="back to the first", to_version="v1")
    assert (entry.from_version, entry.to_version) == ("2", "1") and registry.aliases["champion"] == "1"


@pytest.mark.parametrize(
    ("versions", "to", "error", "message"),
    [
        ((), None, EmptyLedgerError, "the ledger holds no champion of toy: nothing to roll back to"),
        (("1",), None, EmptyLedgerError, "v1 is the first champion of toy in the ledger"),
        (
            ("1", "2"),
            "3",
            NotFoundError,
            r"v3 was never champion of toy according to the ledger \(champions so far: v1, v2\)",
        ),
        (("1", "2"), "2", InvalidInputError, "to: v2 is the champion already"),
    ],
)
def test_bad_rollbacks_are_one_line_errors_and_change_nothing(versions, to, error, message) -> None:
    promotion, rollback, registry, ledger, audit = make({"1": 5.0, "2": 4.0, "3": 3.0})
    for version in versions:
        promote(promotion, registry, version)
    before = (dict(registry.aliases), list(ledger.rows), list(audit.rows))

    with pytest.raises(error, match=message):
        rollback.rollback(NAME, actor="bob", reason="why not", to_version=to)
    assert (registry.aliases, ledger.rows, audit.rows) == before


def test_a_rollback_without_a_reason_is_refused() -> None:
    promotion, rollback, registry, ledger, _ = make({"1": 5.0, "2": 4.0})
    promote(promotion, registry, "1")
    promote(promotion, registry, "2")
    with pytest.raises(InvalidInputError, match="reason: say why"):
        rollback.rollback(NAME, actor="bob", reason="  ")
    assert registry.aliases["champion"] == "2" and len(ledger.rows) == 2


def test_a_failed_ledger_write_moves_nothing_and_the_move_is_closed_as_abandoned() -> None:
    promotion, _, registry, ledger, audit = make({"1": 5.0}, fail=True)
    with pytest.raises(OSError, match="unreachable"):
        promote(promotion, registry, "1")
    assert "champion" not in registry.aliases and ledger.rows == []
    assert audit.actions == [MOVE_STARTED, MOVE_ABANDONED]


def test_swap_exchanges_champion_and_challenger_in_one_ledger_write_and_audits_it() -> None:
    promotion, _, registry, ledger, audit = make({"1": 5.0, "2": 6.0})
    promote(promotion, registry, "1")
    with pytest.raises(PromotionRefusedError):
        promote(promotion, registry, "2")  # worse: parked as challenger
    assert registry.aliases == {"champion": "1", "challenger": "2"}

    rows = promotion.swap(NAME, actor="carol", reason="experiment won")

    assert registry.aliases == {"champion": "2", "challenger": "1"}
    assert [(r.alias, r.from_version, r.to_version, r.reason) for r in rows] == [
        ("champion", "1", "2", "experiment won"),
        ("challenger", "2", "1", "experiment won"),
    ]
    assert ledger.rows[-2:] == rows and len(ledger.rows) == 4  # promote, park, swap (two rows)
    assert audit.actions[-2:] == [MOVE_STARTED, SWAPPED] and audit.rows[-1].subject == f"model:{NAME}/2"


def test_swap_without_a_challenger_is_a_one_line_error_and_changes_nothing() -> None:
    promotion, _, registry, ledger, audit = make({"1": 5.0})
    promote(promotion, registry, "1")
    before = (dict(registry.aliases), list(ledger.rows), list(audit.rows))
    with pytest.raises(
        InvalidInputError, match=r"aliases: a swap needs both set on toy \(champion: 1, challenger: unset\)"
    ):
        promotion.swap(NAME, actor="carol", reason="x")
    assert (registry.aliases, ledger.rows, audit.rows) == before

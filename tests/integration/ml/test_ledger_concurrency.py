"""The promotion ledger on a real MLflow registry (SQLite and PostgreSQL): racing promoters, swaps, guards."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.ledger_world import MODEL, UtcClock, champion_in_mlflow, race, registry_with_versions
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.ledger import AliasMove, LedgerNote, StaleAliasError
from tripcast.mlops.model_registry.ledger import LEDGER_TABLE, SqlPromotionLedger, sqlalchemy_url

PROMOTERS = 8
ROUNDS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh registry database with 8 versions of the test model."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    else:
        uri = request.getfixturevalue("postgres_url")
    registry_with_versions(uri, PROMOTERS, tmp_path)
    return uri


def _assert_consistent(uri: str, ledger: SqlPromotionLedger) -> None:
    rows = ledger.history(MODEL, limit=10_000)
    assert [r.id for r in rows] == list(range(1, len(rows) + 1)), "the ledger has a gap"
    champion_rows = [r for r in rows if r.alias == "champion"]
    for before, after in itertools.pairwise(champion_rows):
        assert after.from_version == before.to_version, "a row does not follow from the previous one"
    assert champion_in_mlflow(uri) == champion_rows[-1].to_version


@pytest.mark.slow
def test_eight_concurrent_promoters_one_winner_per_decision_no_gap_no_phantom(tracking_uri: str) -> None:
    versions = [str(n) for n in range(1, PROMOTERS + 1)]
    outcomes = race(tracking_uri, versions, ROUNDS)

    errors = [o for o in outcomes if o[3].startswith("error")]
    assert not errors
    wins = [o for o in outcomes if o[3] == "won"]
    per_decision = Counter((round_number, read) for round_number, _, read, outcome in outcomes if outcome == "won")
    assert len(per_decision) == ROUNDS and set(per_decision.values()) == {1}, per_decision
    ledger = SqlPromotionLedger(tracking_uri, UtcClock())
    rows = ledger.history(MODEL, limit=10_000)
    assert len(rows) == len(wins), "phantom or missing ledger rows"
    assert [(r.from_version, r.to_version, r.actor) for r in rows] == [
        (read, version, f"p{version}") for _, version, read, _ in sorted(wins)
    ]
    _assert_consistent(tracking_uri, ledger)


def test_swap_moves_both_aliases_and_writes_both_rows_in_one_transaction(tracking_uri: str) -> None:
    ledger = SqlPromotionLedger(tracking_uri, UtcClock())
    note = LedgerNote("alice", "setup", {"candidate.rmse": 1.5}, approver="bob", experiment_id="exp-7")
    ledger.move(MODEL, [AliasMove("champion", "1", ""), AliasMove("challenger", "2", "")], note)
    written = ledger.move(
        MODEL, [AliasMove("champion", "2", "1"), AliasMove("challenger", "1", "2")], LedgerNote("alice", "swap")
    )
    assert [(r.alias, r.from_version, r.to_version) for r in written] == [
        ("champion", "1", "2"),
        ("challenger", "2", "1"),
    ]
    first = ledger.history(MODEL)[0]
    assert (first.gate_metrics, first.approver, first.experiment_id) == ({"candidate.rmse": 1.5}, "bob", "exp-7")

    # A stale second half refuses the whole swap: the first alias does not move either.
    with pytest.raises(StaleAliasError, match="challenger of ledger-test-model is at v1, not v3"):
        ledger.move(MODEL, [AliasMove("champion", "3", "2"), AliasMove("challenger", "2", "3")], LedgerNote("x", "y"))
    with pytest.raises(NotFoundError, match="version 99 of ledger-test-model is not registered"):
        ledger.move(MODEL, [AliasMove("champion", "99", "2")], LedgerNote("x", "y"))
    assert len(ledger.history(MODEL)) == 4
    assert champion_in_mlflow(tracking_uri) == "2"
    _assert_consistent(tracking_uri, ledger)


def test_the_database_refuses_to_edit_or_delete_ledger_rows(tracking_uri: str) -> None:
    ledger = SqlPromotionLedger(tracking_uri, UtcClock())
    ledger.move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("alice", "first"))
    engine = sa.create_engine(sqlalchemy_url(tracking_uri))
    for statement in (f"UPDATE {LEDGER_TABLE} SET reason = 'forged'", f"DELETE FROM {LEDGER_TABLE}"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()
    assert [r.reason for r in ledger.history(MODEL)] == ["first"]


def test_a_registry_database_without_mlflow_tables_reads_an_empty_ledger_and_refuses_moves(
    postgres_url: str, tmp_path: Path
) -> None:
    ledger = SqlPromotionLedger(postgres_url, UtcClock())
    assert ledger.history(MODEL) == []
    with pytest.raises(NotFoundError, match="no registered_model_aliases table yet: run `tripcast train`"):
        ledger.move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("alice", "too early"))
    assert ledger.history(MODEL) == []
    # MLflow still creates its tables beside the ledger's, and the same ledger object then moves aliases.
    registry_with_versions(postgres_url, 1, tmp_path)
    ledger.move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("alice", "now"))
    assert champion_in_mlflow(postgres_url) == "1"

"""SIGKILL in the middle of a ledger move (alias row and ledger row written, not committed): neither survives."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.ledger_world import MODEL, UtcClock, champion_in_mlflow, registry_with_versions
from tripcast.core.domain.ledger import AliasMove, LedgerNote
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger

#: A promoter that stops, inside its transaction, right after writing its ledger row, and says so.
STALLING_PROMOTER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import event
    from support.ledger_world import MODEL, UtcClock
    from tripcast.core.domain.ledger import AliasMove, LedgerNote
    from tripcast.mlops.model_registry.ledger import LEDGER_TABLE, SqlPromotionLedger

    ledger = SqlPromotionLedger(sys.argv[1], UtcClock())

    @event.listens_for(ledger.engine, "after_cursor_execute")
    def stall(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO " + LEDGER_TABLE.upper()):
            print("inside", flush=True)
            time.sleep(120)

    ledger.move(MODEL, [AliasMove("champion", "2", "1")], LedgerNote("doomed", "killed mid-move"))
    """
)


@pytest.fixture(params=["sqlite", "postgresql"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    uri = (
        f"sqlite:///{tmp_path / 'mlflow.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    )
    registry_with_versions(uri, 2, tmp_path)
    return uri


def test_sigkill_mid_move_leaves_neither_the_alias_nor_the_row(tracking_uri: str) -> None:
    ledger = SqlPromotionLedger(tracking_uri, UtcClock())
    ledger.move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("alice", "first"))
    with stalled_promoter(tracking_uri):
        pass  # killed inside its move

    assert champion_in_mlflow(tracking_uri) == "1"
    assert [(r.id, r.to_version) for r in ledger.history(MODEL)] == [(1, "1")]
    # The database is usable at once: the next move gets the next id (no gap left by the dead one).
    written = ledger.move(MODEL, [AliasMove("champion", "2", "1")], LedgerNote("bob", "after the crash"))
    assert [(r.id, r.from_version, r.to_version) for r in written] == [(2, "1", "2")]
    assert champion_in_mlflow(tracking_uri) == "2"


def test_a_promoter_stalled_inside_its_move_holds_up_neither_a_new_ledger_nor_a_reader(tmp_path: Path) -> None:
    """A command starting while another promotion sits inside its transaction (slow, or stopped) opens the
    ledger and reads the champion at once: it must reach the promotion lock that refuses it, not wait on
    SQLite's write lock and die with "database is locked"."""
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry_with_versions(tracking_uri, 2, tmp_path)
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # set when the store was prepared
    SqlPromotionLedger(tracking_uri, UtcClock()).move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("a", "1"))
    with stalled_promoter(tracking_uri) as stalled:
        opened = SqlPromotionLedger(tracking_uri, UtcClock())  # waited 60 s for the write lock, then failed
        assert [(r.id, r.to_version) for r in opened.history(MODEL)] == [(1, "1")]
        assert champion_in_mlflow(tracking_uri) == "1"
        assert stalled.poll() is None  # still inside its transaction all along
    assert champion_in_mlflow(tracking_uri) == "1"


@contextmanager
def stalled_promoter(tracking_uri: str) -> Iterator[subprocess.Popen[str]]:
    """:data:`STALLING_PROMOTER` stopped inside its move (its ledger row written, not committed), then killed."""
    tests_dir = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")])}
    with subprocess.Popen(
        [sys.executable, "-c", STALLING_PROMOTER, tracking_uri], env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "inside"
        try:
            yield process
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

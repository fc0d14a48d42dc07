"""`tripcast models history` and `tripcast rollback` as a user runs them: output, one-line errors, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.ledger_world import UtcClock, registry_with_versions
from tripcast.core.domain.ledger import AliasMove, LedgerNote
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger

TRIPCAST = str(Path(sys.executable).parent / "tripcast")
MODEL = "ledger-test-model"  # support.ledger_world's model


def run(args: list[str], tmp_path: Path, uri: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", TRIPCAST_DATA_DIR=str(tmp_path / "data"), TRIPCAST_MLFLOW_TRACKING_URI=uri)
    env["TRIPCAST_MODEL_NAME"] = MODEL
    return subprocess.run([TRIPCAST, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_history_and_rollback_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    uri = f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    registry_with_versions(uri, 3, tmp_path)

    one_line_error(run(["rollback", "--reason", "x"], tmp_path, uri), f"the ledger holds no champion of {MODEL}")
    assert "holds no alias moves" in run(["models", "history"], tmp_path, uri).stdout

    ledger = SqlPromotionLedger(uri, UtcClock())
    ledger.move(MODEL, [AliasMove("champion", "1", "")], LedgerNote("alice", "first"))
    ledger.move(MODEL, [AliasMove("champion", "2", "1")], LedgerNote("alice", "better"))
    one_line_error(run(["rollback", "--reason", "x", "--to", "3"], tmp_path, uri), "v3 was never champion")
    assert len(ledger.history(MODEL)) == 2

    done = run(["rollback", "--reason", "live error up", "--as", "oncall"], tmp_path, uri)
    assert done.returncode == 0, done.stderr
    assert "v2 -> v1 (ledger #3)" in done.stdout
    history = run(["models", "history", "--json"], tmp_path, uri)
    rows = json.loads(history.stdout)["entries"]
    assert [(r["id"], r["from_version"], r["to_version"], r["actor"], r["reason"]) for r in rows] == [
        (1, "", "1", "alice", "first"),
        (2, "1", "2", "alice", "better"),
        (3, "2", "1", "oncall", "rollback: live error up"),
    ]
    table = run(["models", "history"], tmp_path, uri).stdout
    assert "rollback: live error up" in table and "oncall" in table


def test_an_mlflow_server_registry_has_no_ledger_to_roll_back_with(tmp_path: Path) -> None:
    result = run(["rollback", "--reason", "x"], tmp_path, "http://127.0.0.1:5000")
    one_line_error(result, "rollback reads the promotion ledger, kept in the registry's SQL database")

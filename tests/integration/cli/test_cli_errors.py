"""Every error a user can cause ends in one clear message and a non-zero exit, not a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    environment.update(COLUMNS="200", **env)
    return subprocess.run([TRIPCAST, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_help_lists_every_command(tmp_path):
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("ingest", "validate", "train", "evaluate", "promote", "predict", "models", "demo"):
        assert command in result.stdout


def test_bad_month(tmp_path):
    assert_clean_failure(run(["validate", "--month", "2021-13"], tmp_path), "month", "1-12")


def test_missing_source_file(tmp_path):
    result = run(["evaluate", "--source", str(tmp_path / "nope.parquet")], tmp_path)
    assert_clean_failure(result, "nope.parquet")


def test_empty_registry(tmp_path):
    assert_clean_failure(run(["models"], tmp_path), "tripcast train")
    assert_clean_failure(run(["promote"], tmp_path), "tripcast train")


def test_corrupt_parquet(tmp_path, shared_data_dir):
    broken = tmp_path / "raw" / "green_tripdata_2021-01.parquet"
    broken.parent.mkdir()
    data = (shared_data_dir / "green_tripdata_2021-01.parquet").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    result = run(["validate", "--month", "2021-01"], tmp_path, TRIPCAST_RAW_DIR=str(broken.parent))
    assert_clean_failure(result, "green_tripdata_2021-01.parquet")


def test_wrong_columns(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "green_tripdata_2021-01.csv").write_text("a,b\n1,2\n")
    result = run(["validate", "--month", "2021-01"], tmp_path, TRIPCAST_RAW_DIR=str(raw))
    assert_clean_failure(result, "pickup_datetime")


def test_offline_without_files_says_what_to_download(tmp_path):
    result = run(
        ["ingest", "--month", "2021-01"],
        tmp_path,
        TRIPCAST_TLC_BASE_URL="http://127.0.0.1:9/trip-data",
        TRIPCAST_DOWNLOAD_RETRIES="0",
    )
    assert_clean_failure(result, "green_tripdata_2021-01.parquet", "--source")


def test_bad_trip_json_names_the_field(tmp_path, shared_data_dir):
    raw = tmp_path / "raw"
    raw.mkdir()
    for month in ("2021-01", "2021-02", "2021-03"):
        shutil.copy(shared_data_dir / f"green_tripdata_{month}.parquet", raw)
    result = run(["predict", "--trip", '{"pickup_zone": 999}'], tmp_path, TRIPCAST_RAW_DIR=str(raw))
    assert_clean_failure(result, "pickup_datetime")


@pytest.mark.parametrize("alias", ["nonexistent"])
def test_unknown_alias_on_empty_registry(tmp_path, alias):
    assert_clean_failure(run(["evaluate", "--model", alias, "--month", "2021-02"], tmp_path), "tripcast train")


def _write_audit_rows(db: Path, n: int) -> None:
    """Rows as Tripcast wrote them before the chain was keyed: SHA-256 over the previous hash and the row."""
    import hashlib
    import json
    import sqlite3

    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at VARCHAR(40) NOT NULL, actor VARCHAR(200) NOT NULL, "
        "action VARCHAR(100) NOT NULL, subject VARCHAR(500) NOT NULL, details TEXT NOT NULL, "
        "chain_hash VARCHAR(64) NOT NULL)"
    )
    previous = "0" * 64
    for i in range(n):
        row = ("2026-01-01T00:00:00+00:00", "alice", "dataset.validated", f"dataset:{i}", {})
        previous = hashlib.sha256(previous.encode() + json.dumps(list(row), sort_keys=True).encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_events (at, actor, action, subject, details, chain_hash) VALUES (?, ?, ?, ?, '{}', ?)",
            (*row[:4], previous),
        )
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    conn.commit()
    conn.close()


def test_audit_verify_on_a_broken_old_trail_is_one_line_not_a_traceback(tmp_path):
    _write_audit_rows(tmp_path / "data" / "audit.db", 3)
    result = run(["audit", "--verify"], tmp_path)
    assert_clean_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    adopt = run(["audit", "--adopt-legacy"], tmp_path)
    assert_clean_failure(adopt, "row 2", "legacy hash")


def test_audit_verify_on_a_tampered_trail_names_the_row_and_exits_3(tmp_path):
    import sqlite3

    from tripcast.core.domain.audit import AuditEvent
    from tripcast.security.audit_log import SqlAuditLog
    from tripcast.settings import DEVELOPMENT_AUDIT_KEY

    db = tmp_path / "data" / "audit.db"
    db.parent.mkdir()
    log = SqlAuditLog(f"sqlite:///{db}", key=DEVELOPMENT_AUDIT_KEY.encode())
    for i in range(3):
        log.record(AuditEvent(datetime(2026, 1, 1, i), "alice", "dataset.validated", f"dataset:{i}", {}))
    log.engine.dispose()
    intact = run(["audit", "--verify"], tmp_path)
    assert intact.returncode == 0 and "3 events verified" in intact.stdout, intact.stderr
    conn = sqlite3.connect(db)
    conn.executescript("DROP TRIGGER audit_no_update; UPDATE audit_events SET actor = 'mallory' WHERE id = 2;")
    conn.close()
    result = run(["audit", "--verify"], tmp_path)
    assert result.returncode == 3
    assert_clean_failure(result, "audit row 2 (dataset.validated dataset:1) does not match its HMAC")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreachable_audit_database_is_one_line_with_its_password_masked(tmp_path):
    url = "postgresql+psycopg://auditor:hunter2-secret@127.0.0.1:9/audit"  # nothing listens on port 9
    result = run(["audit"], tmp_path, TRIPCAST_AUDIT_URL=url)
    assert_clean_failure(result, "postgresql+psycopg://auditor:***@127.0.0.1:9/audit", "could not be opened")
    assert "hunter2" not in result.stdout + result.stderr


def test_missing_production_secrets_are_one_line_naming_the_setting(tmp_path):
    result = run(["audit"], tmp_path, TRIPCAST_ENV="production", TRIPCAST_API_TOKEN="t" * 32)
    assert_clean_failure(result, "TRIPCAST_AUDIT_KEY must be set")
    result = run(["pipeline", "run", "--month", "2021-01"], tmp_path, TRIPCAST_ENV="production")  # level: advanced
    assert_clean_failure(result, "TRIPCAST_API_TOKEN must be set")  # level: advanced

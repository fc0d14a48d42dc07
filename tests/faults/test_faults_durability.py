"""Fault injection on the audit trail and on state-changing commands, against real processes.

Concurrent writer processes, SIGKILL at a random moment, a full disk (a 256 KiB tmpfs), and two
`tripcast promote` / `validate` / `pipeline run` racing each other. Each test's name states the promise.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")
LOCK_HELD_EXIT = 75
MODEL = "trip-duration"

#: A child that appends audit events through the composition root, as every command does.
APPENDER = """
import sys
from datetime import UTC, datetime
from tripcast.bootstrap import bootstrap
from tripcast.core.domain.audit import AuditEvent

audit = bootstrap().audit
worker, count = sys.argv[1], int(sys.argv[2])
i = 0
while count < 0 or i < count:
    audit.record(AuditEvent(datetime.now(UTC), f"writer-{worker}", "fault.append", f"fault:{worker}/{i}",
                            {"i": str(i), "pad": "x" * 200}))
    i += 1
"""


def require(condition: bool, why: str) -> None:
    """A missing prerequisite skips locally and fails under CI."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", TRIPCAST_DATA_DIR=str(data_dir), MLFLOW_LOGGING_LEVEL="WARNING", **extra)
    return env


def tripcast(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIPCAST, *args], env=env, capture_output=True, text=True, timeout=timeout)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def appender(env: dict[str, str], worker: str, count: int) -> subprocess.Popen[str]:
    return start([sys.executable, "-c", APPENDER, worker, str(count)], env)


def verified_events(env: dict[str, str]) -> int:
    """`tripcast audit --verify` must pass; the number of events it checked."""
    result = tripcast(["audit", "--verify", "--limit", "1"], env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "audit trail intact" in line)
    return int(line.split(": ", 1)[1].split(" events")[0].replace(",", ""))


def audit_rows(db: Path, action: str | None = None) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        query = "SELECT * FROM audit_events" + (" WHERE action = ?" if action else "") + " ORDER BY id"
        return conn.execute(query, (action,) if action else ()).fetchall()
    finally:
        conn.close()


def count_rows(db: Path) -> int:
    """Rows so far, 0 while the first process is still creating the database."""
    try:
        return len(audit_rows(db))
    except sqlite3.OperationalError:
        return 0


# --- concurrent audit writers ---------------------------------------------------------------------


def run_four_writers(env: dict[str, str], url: str) -> int:
    """Four appenders of 250 events; meanwhile verify, which must never mistake an append for tampering."""
    from tripcast.security.audit_log import SqlAuditLog
    from tripcast.settings import DEVELOPMENT_AUDIT_KEY

    writers = [appender(env, str(w), 250) for w in range(4)]
    checks = 0
    while any(w.poll() is None for w in writers):
        try:
            log = SqlAuditLog(url, key=DEVELOPMENT_AUDIT_KEY.encode())
        except Exception:  # noqa: BLE001 - the writers may still be creating the schema
            time.sleep(0.1)
            continue
        log.verify()
        log.engine.dispose()
        checks += 1
    for writer in writers:
        _, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
    return checks


@pytest.mark.slow
def test_four_processes_appending_250_events_each_on_sqlite_leave_a_verifiable_chain(tmp_path):
    env = environment(tmp_path / "data")
    assert run_four_writers(env, f"sqlite:///{tmp_path / 'data' / 'audit.db'}") > 0
    assert verified_events(env) == 1000
    rows = audit_rows(tmp_path / "data" / "audit.db")
    assert sorted(r["subject"] for r in rows) == sorted(f"fault:{w}/{i}" for w in range(4) for i in range(250))


@pytest.mark.slow
def test_four_processes_appending_250_events_each_on_postgresql_leave_a_verifiable_chain(tmp_path, postgres_url):
    env = environment(tmp_path / "data", TRIPCAST_AUDIT_URL=postgres_url)
    assert run_four_writers(env, postgres_url) > 0
    assert verified_events(env) == 1000


# --- SIGKILL mid-append -----------------------------------------------------------------------------


def test_sigkill_during_audit_appends_leaves_whole_rows_and_a_verifiable_chain(tmp_path):
    env = environment(tmp_path / "data")
    db = tmp_path / "data" / "audit.db"
    rng = random.Random()
    for round_ in range(3):
        child = appender(env, f"k{round_}", -1)
        before = count_rows(db)
        deadline = time.monotonic() + 60
        while count_rows(db) < before + 10:
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "the appender never got going"
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))  # somewhere in the middle of an append, or between two
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    rows = audit_rows(db)
    assert verified_events(env) == len(rows) >= 30
    for row in rows:  # whole rows: every field there and readable
        details = json.loads(row["details"])
        assert details["pad"] == "x" * 200 and row["subject"].endswith(f"/{details['i']}")
        assert len(row["chain_hash"]) == 64


# --- disk full ------------------------------------------------------------------------------------


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: the next real write past it fails with ENOSPC."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    require(mounted.returncode == 0, f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_the_append_clearly_and_keeps_the_chain_verifiable(tmp_path, tiny_disk):
    env = environment(tmp_path / "data", TRIPCAST_AUDIT_URL=f"sqlite:///{tiny_disk / 'audit.db'}")
    child = subprocess.run([sys.executable, "-c", APPENDER, "full", "-1"], env=env, capture_output=True, text=True)
    assert child.returncode != 0
    last = child.stderr.strip().splitlines()[-1]
    assert "AuditWriteError" in last and "database or disk is full" in last and "nothing was recorded" in last
    rows = audit_rows(tiny_disk / "audit.db")
    assert len(rows) > 0
    assert verified_events(env) == len(rows)


# --- promotions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """A copy of a prepared data dir: versions 1-3 registered (valid month 2021-02), champion = 1."""

    data_dir: Path
    env: dict[str, str]

    def champion(self) -> str | None:
        conn = sqlite3.connect(self.data_dir / "mlflow.db")
        try:
            row = conn.execute(
                "SELECT version FROM registered_model_aliases WHERE alias = 'champion' AND name = ?", (MODEL,)
            ).fetchone()
        finally:
            conn.close()
        return str(row[0]) if row else None

    def promotions(self) -> list[sqlite3.Row]:
        return [
            r
            for r in audit_rows(self.data_dir / "audit.db")
            if r["action"].startswith("model.") and r["action"] != "model.registered"
        ]


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Path:
    """Feb 2021 validated by `tripcast validate`; three small LightGBM versions registered in MLflow."""
    from support.real_models import register_lightgbm_versions, validated_january

    root = tmp_path_factory.mktemp("registry")
    data_dir = root / "data"
    env = environment(data_dir, TRIPCAST_RAW_DIR=str(shared_data_dir))
    validated = tripcast(["validate", "--month", "2021-02"], env)
    assert validated.returncode == 0, validated.stderr
    made = register_lightgbm_versions(
        validated_january(shared_data_dir).valid.head(4000),
        f"sqlite:///{data_dir / 'mlflow.db'}",
        root / "artifacts",
        rounds=(5, 10, 20),
        experiment="faults",
        dataset_name="2021-01",
        tags={"valid_month": "2021-02", "train_month": "2021-01"},
        champion=0,
    )
    assert made.versions == ["1", "2", "3"]
    return data_dir


@pytest.fixture()
def registry(registry_template: Path, tmp_path: Path, shared_data_dir: Path) -> Registry:
    data_dir = tmp_path / "data"
    shutil.copytree(registry_template, data_dir, ignore=shutil.ignore_patterns("locks"))
    return Registry(data_dir, environment(data_dir, TRIPCAST_RAW_DIR=str(shared_data_dir)))


Outcome = tuple[int, str, str]


def overlap(first: list[str], second: list[str], env: dict[str, str], lock: Path) -> tuple[Outcome, Outcome]:
    """Run ``second`` while ``first`` holds ``lock`` (frozen by SIGSTOP once its holder file names it).

    A race left to the scheduler is no test: on a loaded host the first command can finish before
    the second has imported its modules, and both succeed one after the other.
    """
    holder_file = lock.with_name(f"{lock.name}.holder.json")
    process = start(first, env)
    try:
        deadline = time.monotonic() + 240
        while not _names(holder_file, process.pid):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"{first} never took {lock.name}"
            time.sleep(0.01)
        process.send_signal(signal.SIGSTOP)
        second_done = subprocess.run(second, env=env, capture_output=True, text=True, timeout=300)
    finally:
        process.send_signal(signal.SIGCONT)
    first_done = (process.wait(timeout=600), *process.communicate())
    return first_done, (second_done.returncode, second_done.stdout, second_done.stderr)


def _names(holder_file: Path, pid: int) -> bool:
    try:
        return json.loads(holder_file.read_text()).get("pid") == pid
    except (OSError, ValueError):
        return False


def promote_command(version: str) -> list[str]:
    return [TRIPCAST, "promote", "--version", version, "--force", "--reason", "fault test"]


def promote(version: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return start(promote_command(version), env)


@pytest.mark.slow
def test_two_concurrent_promotions_one_wins_the_other_is_refused_and_alias_and_audit_agree(registry):
    lock = registry.data_dir / "locks" / "promote-trip-duration"
    first, second = overlap(promote_command("2"), promote_command("3"), registry.env, lock)
    assert (first[0], second[0]) == (0, LOCK_HELD_EXIT), (first, second)
    assert "lock 'promote-trip-duration' is held by tripcast promote" in second[2]
    assert "since" in second[2] and "Traceback" not in second[2]
    assert registry.champion() == "2"
    promoted = [r for r in registry.promotions() if r["action"] == "model.promoted"]
    assert [r["subject"] for r in promoted] == [f"model:{MODEL}/2"]
    assert verified_events(registry.env) == len(audit_rows(registry.data_dir / "audit.db"))


@pytest.mark.slow
def test_two_promotions_started_together_never_interleave_and_alias_and_audit_agree(registry):
    """Started at the same instant, either may win or both may run one after the other: never both at once."""
    racers = {version: promote(version, registry.env) for version in ("2", "3")}
    results = {version: (p.wait(timeout=300), *p.communicate()) for version, p in racers.items()}
    assert {code for code, _, _ in results.values()} <= {0, LOCK_HELD_EXIT}, results
    assert any(code == 0 for code, _, _ in results.values()), results
    assert all("Traceback" not in err for _, _, err in results.values())
    promoted = [r for r in registry.promotions() if r["action"] == "model.promoted"]
    winners = [v for v, (code, _, _) in results.items() if code == 0]
    assert sorted(r["subject"] for r in promoted) == sorted(f"model:{MODEL}/{v}" for v in winners)
    assert registry.champion() == promoted[-1]["subject"].rsplit("/", 1)[1]
    assert verified_events(registry.env) == len(audit_rows(registry.data_dir / "audit.db"))


@pytest.mark.slow
def test_sigkill_during_a_promotion_leaves_alias_and_audit_consistent(registry):
    """Killed at a random moment after the move's intent is recorded: before, during or after the move."""
    child = promote("2", registry.env)
    deadline = time.monotonic() + 240
    while not any(r["action"] == "model.alias_move_started" for r in registry.promotions()):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(random.uniform(0, 0.15))
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    alias_after_kill = registry.champion()
    assert alias_after_kill in {"1", "2"}
    # Never an event for a move that did not happen:
    if any(r["action"] == "model.promoted" for r in registry.promotions()):
        assert alias_after_kill == "2"
    # The next promotion closes the interrupted move from what the registry shows, then does its own.
    after = tripcast(["promote", "--version", "3", "--force", "--reason", "after the kill"], registry.env)
    assert after.returncode == 0, after.stderr
    events = registry.promotions()
    [started] = [r for r in events if r["action"] == "model.alias_move_started" and r["subject"].endswith("/2")]
    move_id = json.loads(started["details"])["move_id"]
    outcomes = [
        r["action"] for r in events if r["id"] > started["id"] and json.loads(r["details"]).get("move_id") == move_id
    ]
    assert outcomes == (["model.promoted"] if alias_after_kill == "2" else ["model.alias_move_abandoned"])
    assert registry.champion() == "3"
    assert verified_events(registry.env) == len(audit_rows(registry.data_dir / "audit.db"))


# --- validate and pipeline run ------------------------------------------------------------------------


def month_lock(tmp_path: Path) -> Path:
    return tmp_path / "data" / "locks" / "month-green-2021-01"


@pytest.mark.slow
def test_two_concurrent_validations_of_a_month_one_runs_the_other_is_refused_and_outputs_are_whole(
    tmp_path, shared_data_dir
):
    import pyarrow.parquet as pq

    env = environment(tmp_path / "data", TRIPCAST_RAW_DIR=str(shared_data_dir))
    command = [TRIPCAST, "validate", "--month", "2021-01"]
    (code, winner_out, _), (loser_code, _, loser_err) = overlap(command, command, env, month_lock(tmp_path))
    assert (code, loser_code) == (0, LOCK_HELD_EXIT), (winner_out, loser_err)
    assert "lock 'month-green-2021-01' is held by tripcast validate 2021-01" in loser_err
    assert "Traceback" not in loser_err
    valid = pq.read_table(tmp_path / "data" / "processed" / "green_tripdata_2021-01.parquet").num_rows
    quarantined = pq.read_table(tmp_path / "data" / "quarantine" / "green_tripdata_2021-01.parquet").num_rows
    raw = pq.read_metadata(shared_data_dir / "green_tripdata_2021-01.parquet").num_rows
    assert valid + quarantined == raw and f"{valid:,} valid" in winner_out
    assert [r["action"] for r in audit_rows(tmp_path / "data" / "audit.db")] == ["dataset.validated"]


@pytest.mark.slow  # level: advanced
def test_two_concurrent_pipeline_runs_of_a_month_one_runs_the_other_is_refused(tmp_path, shared_data_dir):
    env = environment(tmp_path / "data")
    command = [TRIPCAST, "pipeline", "run", "--month", "2021-01", "--source", str(shared_data_dir)]
    (code, _, winner_err), (loser_code, _, loser_err) = overlap(command, command, env, month_lock(tmp_path))
    assert (code, loser_code) == (0, LOCK_HELD_EXIT), (winner_err, loser_err)
    assert "lock 'month-green-2021-01' is held by tripcast pipeline run 2021-01" in loser_err
    assert "Traceback" not in loser_err
    manifest = json.loads((tmp_path / "data" / "pipeline" / "green_2021-01.json").read_text())
    assert {step: record["status"] for step, record in manifest["steps"].items()} == {
        step: "complete" for step in ("ingest", "validate", "transform", "quality", "export")
    }


def test_a_lock_holder_that_dies_by_sigkill_leaves_no_stale_lock(tmp_path):
    from tripcast.core.ports.locks import LockHeldError
    from tripcast.security.locks import FileLocks

    holder = start(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from tripcast.security.locks import FileLocks\n"
            "with FileLocks(Path(sys.argv[1])).hold('month-green-2021-01', 'holder'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        os.environ.copy(),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    locks = FileLocks(tmp_path)
    held = rf"held by holder, pid {holder.pid} on .* since \d{{4}}-"
    with pytest.raises(LockHeldError, match=held), locks.hold("month-green-2021-01", "second"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    with locks.hold("month-green-2021-01", "after the kill"):  # the kernel released the dead holder's lock
        pass


def test_a_promotion_lock_on_postgresql_refuses_a_second_holder_names_the_first_and_dies_with_it(postgres_url):
    from tripcast.core.ports.locks import LockHeldError
    from tripcast.security.locks import PostgresAdvisoryLocks

    holder = start(
        [
            sys.executable,
            "-c",
            "import sys, time; from tripcast.security.locks import PostgresAdvisoryLocks\n"
            "with PostgresAdvisoryLocks(sys.argv[1]).hold('promote-trip-duration', 'tripcast promote 7'):\n"
            "    print('held', flush=True); time.sleep(60)",
            postgres_url,
        ],
        os.environ.copy(),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    locks = PostgresAdvisoryLocks(postgres_url)
    held = rf"held by tripcast promote 7, pid {holder.pid} on .* since \d{{4}}-"
    with pytest.raises(LockHeldError, match=held), locks.hold("promote-trip-duration", "second"):
        pass
    with locks.hold("promote-other-model", "another model's promotion"):  # locks are per name
        pass
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL ends the dead client's session, and its lock with it
        try:
            with locks.hold("promote-trip-duration", "after the kill"):
                break
        except LockHeldError:
            assert time.monotonic() < deadline, "the dead holder's advisory lock was never released"
            time.sleep(0.2)

"""A serving process killed (SIGKILL) while its prediction log flushes loses no acknowledged prediction and
leaves no half-written batch: each flush is one transaction, acknowledged only once committed.

The writer is a real child process appending and flushing batches to a real SQLite file (WAL) or a real
PostgreSQL database; it prints the id range of each batch after ``flush()`` returns (the acknowledgement).
The test kills it at several moments, mostly mid-flush (flushes dominate its time), and reads the log.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tripcast.core.ports.feedback import LoggedPrediction
from tripcast.mlops.feedback.sql_log import SqlPredictionLogStore

T0 = datetime(2021, 2, 1)

BATCH = 3_000
WRITER = r"""
import sys
from datetime import datetime
from tripcast.bootstrap.feedback import describe_trips
from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore

url, batch = sys.argv[1], int(sys.argv[2])
log = BufferedPredictionLog(SqlPredictionLogStore(url), describe_trips, flush_seconds=3600)
trip = TripRequest(datetime(2021, 2, 1, 8, 30), 74, 132, 3.2)
n = 0
print("ready", flush=True)
while True:
    ids = [f"req-{n + i}" for i in range(batch)]
    log.append("trip-duration", "1", ids, [trip] * batch, [12.0] * batch)
    log.flush()
    n += batch
    print(f"acked {n}", flush=True)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'predictions.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _run_and_kill(url: str, after_seconds: float) -> int:
    """Start the writer, SIGKILL it after ``after_seconds``, return the highest acknowledged row count."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(BATCH)], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    first = child.stdout.readline().strip()  # the first flush pays the imports: time the kill after it
    assert first.startswith("acked"), first
    time.sleep(after_seconds)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    lines = [first, *child.stdout.read().splitlines()]
    acked = [int(line.split()[1]) for line in lines if line.startswith("acked")]
    return max(acked, default=0)


@pytest.mark.parametrize("after_seconds", [0.05, 0.4, 1.1])
def test_sigkill_during_flush_loses_no_acknowledged_prediction(log_url: str, after_seconds: float) -> None:
    SqlPredictionLogStore(log_url).count()  # tables exist before the child races to create them
    acknowledged = _run_and_kill(log_url, after_seconds)
    store = SqlPredictionLogStore(log_url)
    try:
        count = store.count()
        assert count >= acknowledged  # nothing acknowledged is lost
        assert count % BATCH == 0  # a batch is all there or not at all: no half-written flush
        assert count - acknowledged in (0, BATCH)  # at most the batch committed just before the kill
        assert store.known_ids([f"req-{acknowledged - 1}", "req-0"]) == {f"req-{acknowledged - 1}", "req-0"}
        if log_url.startswith("sqlite"):
            with store.engine.connect() as conn:
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
        after_crash = LoggedPrediction("after-crash", "trip-duration", "1", "0" * 16, "Manhattan", 74, 1.0, T0)
        assert store.write([after_crash]) == 1  # the log still takes writes after the crash
    finally:
        store.close()

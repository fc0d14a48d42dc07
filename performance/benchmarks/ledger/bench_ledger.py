"""Promotion-ledger write latency: one alias move + its ledger row, one transaction, on SQLite and PostgreSQL.

Run: ``python3 -m uv run --frozen --no-sync python performance/benchmarks/ledger/bench_ledger.py [--writes N]``.
Target (issue 13): a ledger write p99 < 50 ms. PostgreSQL is measured when
``TRIPCAST_TEST_POSTGRES_ADMIN_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) answers;
the benchmark creates and drops its own database. Rollback visibility to a running server is measured over
HTTP by ``tests/e2e/serving/test_ledger_rollback_under_load.py`` (run it with ``-s``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from sqlalchemy import create_engine, text

from tripcast.core.domain.ledger import AliasMove, LedgerNote
from tripcast.core.ports.clock import Clock
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger
from tripcast.mlops.tracking.schema import prepare_tracking_store

MODEL = "bench-ledger"


class _Clock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database URL (dropped afterwards), or None when the server does not answer."""
    admin = os.environ.get("TRIPCAST_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"tripcast_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - no server: SQLite only
        engine.dispose()
        yield None
        return
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def measure(uri: str, scratch: Path, writes: int) -> list[float]:
    """Milliseconds of each of ``writes`` compare-and-set moves of ``champion`` between two versions."""
    if uri.startswith("sqlite"):
        prepare_tracking_store(uri, (scratch / "artifacts").as_uri(), scratch / "locks")
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for number in (1, 2):
        (scratch / f"m{number}").mkdir(exist_ok=True)
        client.create_model_version(MODEL, source=str(scratch / f"m{number}"))
    ledger = SqlPromotionLedger(uri, _Clock())
    current, timings = "", []
    for index in range(writes):
        target = "1" if current != "1" else "2"
        note = LedgerNote("bench", f"write {index}", {"candidate.rmse": 4.2, "champion.rmse": 4.3})
        started = time.perf_counter()
        ledger.move(MODEL, [AliasMove("champion", target, current)], note)
        timings.append((time.perf_counter() - started) * 1000)
        current = target
    ledger.engine.dispose()
    return timings


def report(backend: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{backend:10s} writes={len(ordered)} p50={statistics.median(ordered):.1f} ms "
        f"p99={p99:.1f} ms max={ordered[-1]:.1f} ms (target p99 < 50 ms: {'met' if p99 < 50 else 'MISSED'})"
    )


def main() -> None:
    """Measure on SQLite, then PostgreSQL when reachable, and print p50/p99."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tripcast-bench-ledger-") as scratch:
        report("sqlite", measure(f"sqlite:///{Path(scratch) / 'mlflow.db'}", Path(scratch), args.writes))
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="tripcast-bench-ledger-") as scratch:
        if url is None:
            print("postgresql not reachable: skipped")
        else:
            report("postgresql", measure(url, Path(scratch), args.writes))


if __name__ == "__main__":
    main()

"""Run DuckDB ``COPY ... TO`` statements a few at a time, sharing the database's threads between them.

Why several at once: a single query leaves a core idle whenever it narrows to one thread (the tail
of each range of a range-split write, the end of a sort, the parquet writer's flush). Why the
engine's threads are shared out between them (one each on two cores): DuckDB's parallel hash
aggregation and parallel parquet writing merge per-thread state at the end; a query that owns a
core does none of that. At 1 GB the outputs
took 83-88 CPU s this way against 94-101 with two threads each, and the whole pipeline 52-56 s
against 58-61 (performance/benchmarks/data_pipeline/RESULTS.md).
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any


def run_statements(connection: Any, statements: Sequence[str], concurrency: int) -> None:
    """Run ``statements`` on cursors of ``connection``'s database, ``concurrency`` at a time, in order.

    The database's threads are shared out between the running statements; with one statement, or
    a concurrency of 1, everything runs on ``connection`` itself with all its threads. The first
    failure interrupts the running statements, cancels the rest and is raised.
    """
    workers = max(1, min(concurrency, len(statements)))
    if workers == 1:
        for statement in statements:
            connection.execute(statement)
        return
    threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
    cursors = [connection.cursor() for _ in range(workers)]
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for cursor in cursors:
        idle.put(cursor)

    def run(statement: str) -> None:
        cursor = idle.get()
        try:
            cursor.execute(statement)
        finally:
            idle.put(cursor)

    connection.execute(f"SET threads = {max(1, int(threads) // workers)}")
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="tripcast-copy") as pool:
            futures = [pool.submit(run, statement) for statement in statements]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failure = next((f.exception() for f in futures if f in done and f.exception() is not None), None)
            if failure is not None:
                for future in futures:
                    future.cancel()
                for cursor in cursors:
                    cursor.interrupt()
                raise failure
    finally:
        for cursor in cursors:
            cursor.close()
        connection.execute(f"SET threads = {int(threads)}")

"""Run DuckDB ``COPY ... TO`` statements a few at a time, sharing the database's threads between them.

Why several at once: a single query leaves a core idle whenever it narrows to one thread (the tail
of each range of a range-split write, the end of a sort, the parquet writer's flush). Why the
engine's threads are shared out between them (one each on two cores): DuckDB's parallel hash
aggregation and parallel parquet writing merge per-thread state at the end; a query that owns a
core does none of that. At 1 GB, two queries at once with one thread each wrote the outputs in
83-88 CPU s against 94-101 with two threads each, and the whole pipeline took 52.5-55.5 s against
57.5-60.6 s; one query at a time took 61.7-64.3 s the same hour
(performance/benchmarks/data_pipeline/RESULTS.md, "Round 2026-11-26 evening").
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any


def run_statements(connection: Any, statements: Iterable[str], concurrency: int) -> None:
    """Run ``statements`` on cursors of ``connection``'s database, ``concurrency`` at a time, in order.

    ``statements`` may be a generator: each one is submitted as soon as it is produced, so the
    first ones run while the caller still builds the rest. The database's threads are shared out
    between the running statements; a list of one statement, or a concurrency of 1, runs on
    ``connection`` itself with all its threads. The first failure (of a statement, or of the
    generator) interrupts the running statements, cancels the rest and is raised.
    """
    if concurrency <= 1 or (isinstance(statements, Sequence) and len(statements) <= 1):
        for statement in statements:
            connection.execute(statement)
        return
    (threads,) = connection.execute("SELECT current_setting('threads')").fetchall()[0]
    cursors = [connection.cursor() for _ in range(concurrency)]
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for cursor in cursors:
        idle.put(cursor)

    def run(statement: str) -> None:
        cursor = idle.get()
        try:
            cursor.execute(statement)
        finally:
            idle.put(cursor)

    connection.execute(f"SET threads = {max(1, int(threads) // concurrency)}")
    futures: list[Future[None]] = []
    # At most ``concurrency`` statements are submitted and not yet finished: the feeder then sees a
    # failure before it submits the next one, so the queue stops there instead of running to the end.
    slots = threading.BoundedSemaphore(concurrency)
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="tripcast-copy") as pool:
            try:
                for statement in statements:
                    slots.acquire()
                    if any(f.done() and f.exception() is not None for f in futures):
                        break  # stop feeding the queue; the failure is raised below
                    future = pool.submit(run, statement)
                    future.add_done_callback(lambda _: slots.release())  # runs once the outcome is visible
                    futures.append(future)
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failure = next((f.exception() for f in futures if f in done and f.exception() is not None), None)
                if failure is not None:
                    raise failure
            except BaseException:
                for future in futures:
                    future.cancel()
                for cursor in cursors:
                    cursor.interrupt()
                raise
    finally:
        for cursor in cursors:
            cursor.close()
        connection.execute(f"SET threads = {int(threads)}")

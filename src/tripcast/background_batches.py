"""Items queued in memory and written in batches by a background thread: the serving path's durable logs
(served predictions, experiment exposures) pay a list append, never a database round trip.

The thread starts with the first item; a failed write puts the batch back in front and the next flush
retries it; at most ``max_pending`` rows wait (beyond that new items are dropped and counted, so an outage
never grows memory without bound); ``close`` and interpreter exit flush what is queued.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class BackgroundBatches(Generic[T]):
    """Queue of ``T`` written by ``write`` (returns the rows written) every ``flush_seconds``."""

    def __init__(
        self,
        write: Callable[[list[T]], int],
        *,
        name: str,
        flush_seconds: float = 0.5,
        max_pending: int = 200_000,
    ) -> None:
        self.write = write
        self.name = name
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.dropped = 0
        self._pending: list[tuple[T, int]] = []
        self._pending_rows = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, item: T, rows: int = 1) -> None:
        """Queue ``item`` (``rows`` rows of the bound); dropped and counted when the queue is full."""
        with self._lock:
            if self._pending_rows + rows > self.max_pending:
                self.dropped += rows
                return
            self._pending.append((item, rows))
            self._pending_rows += rows
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
                atexit.register(self._flush_at_exit)  # a command or consumer exiting normally loses nothing

    def flush(self) -> int:
        """Write everything queued now; the rows written. A failure re-queues the batch and raises."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending, self._pending_rows = self._pending, [], 0
            if not batch:
                return 0
            try:
                return self.write([item for item, _ in batch])
            except Exception:
                with self._lock:  # back in front: the next flush retries them
                    self._pending[:0] = batch
                    self._pending_rows += sum(rows for _, rows in batch)
                raise

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:  # at exit there is no one left to tell but the log
            log.warning("%s: rows not written at exit", self.name, exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # an outage keeps rows queued and retries; serving goes on
                log.warning("%s flush failed; retrying", self.name, exc_info=True)

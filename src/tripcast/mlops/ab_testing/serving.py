"""The serving process's experiment threads: the store poller and the shadow-scoring worker.

Neither ever touches a request: the poller swaps the traffic plan in the background (a started experiment
serves within ``poll_seconds``), the worker scores shadow arms from a bounded queue (full: dropped, logged).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from tripcast.core.ports.experiments import ExposureLog

log = logging.getLogger(__name__)


class BackgroundWorker:
    """One daemon thread running submitted tasks in order; a full queue refuses instead of blocking."""

    def __init__(self, max_queued: int = 10_000, name: str = "experiment-shadow") -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(max_queued)
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> bool:
        """Queue ``task``; False when the queue is full (the task is dropped)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(task)
        except queue.Full:
            return False
        return True

    def drain(self, timeout: float = 10.0) -> None:
        """Run what is queued, then stop the thread (shutdown)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except Exception:  # a shadow failure is the experiment's problem, never the server's
                log.exception("background experiment task failed")


class ExperimentRunner:
    """Polls the experiment store every ``poll_seconds`` (``refresh``) and, at shutdown, drains the shadow
    worker and flushes the exposure log so no acknowledged exposure is lost."""

    def __init__(
        self,
        refresh: Callable[[], None],
        exposures: ExposureLog,
        worker: BackgroundWorker,
        poll_seconds: float = 1.0,
    ) -> None:
        self.refresh = refresh
        self.exposures = exposures
        self.worker = worker
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Look at the store now, then every ``poll_seconds`` in a daemon thread."""
        self._refresh_quietly()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="experiment-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling, finish shadow scoring and write every queued exposure."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.worker.drain()
        self.exposures.close()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # the store down: keep serving the last plan, look again later
            log.warning("experiment poll failed; retrying", exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._refresh_quietly()

"""Background monitors of a serving process: the periodic drift evaluation of the served traffic."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.concurrency import run_in_threadpool

from tripcast.core.services.prediction import Prediction

log = logging.getLogger(__name__)


async def evaluate_drift_forever(prediction: Prediction, interval_seconds: float) -> None:
    """Every ``interval_seconds``: follow the served version, then test the drift window (in a thread)."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await run_in_threadpool(prediction.evaluate_drift)
        except Exception:
            log.exception("drift evaluation failed")


class DriftMonitorTask:
    """The drift evaluation loop as an asyncio task, started and stopped with the app."""

    def __init__(self, prediction: Prediction, interval_seconds: float) -> None:
        self.prediction = prediction
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the served version's reference profile now, then evaluate periodically (no-op without drift)."""
        drift = self.prediction.drift
        if drift is None:
            return
        loaded = self.prediction.models.current
        if loaded is not None:
            await run_in_threadpool(drift.on_model, loaded.name, loaded.number)
        self._task = asyncio.create_task(evaluate_drift_forever(self.prediction, self.interval_seconds))

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

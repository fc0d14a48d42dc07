"""Start-up and shutdown of the API: first model load, the registry poller, the drift monitor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tripcast.api.monitors import DriftMonitorTask
from tripcast.bootstrap.serving import ServingParts, forget_this_worker


def lifespan_of(parts: ServingParts) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: what runs before the first request and after the last."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A failed first load (registry down, say) is logged and retried in the background: the server
        # listens either way, and /health/ready says why it is not ready.
        await run_in_threadpool(parts.models.refresh)
        if parts.poll:
            parts.models.start(load_now=False)  # not again on the event loop: it just ran in the thread pool
        drift = DriftMonitorTask(parts.prediction, parts.drift_interval_seconds)
        await drift.start()
        runner = parts.experiment_runner
        if runner is not None:
            await run_in_threadpool(runner.start)  # loads a running experiment's arms before the first request
        try:
            yield
        finally:
            await drift.stop()
            if runner is not None:
                await run_in_threadpool(runner.stop)  # every acknowledged exposure written before exit
            parts.models.stop()
            parts.close()
            forget_this_worker()

    return lifespan

"""Load shedding decisions: an in-flight bound plus an event-loop lag budget (CoDel-style queue delay).

Under overload the expensive queue is not the one the server counts (requests in flight) but the one in
front of it: requests parsed and waiting for the event loop, and bytes waiting in socket buffers. Every
such request waits for the loop, so the loop's lag (how late a timer fires) is the queueing delay an
admitted request will see. When it exceeds the budget, admitting more only makes every answer late:
refusing at once (a few tens of microseconds) lets the loop drain, which is CoDel's idea applied to the
loop instead of a packet queue.

Everything here takes the time as an argument, so the logic is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

#: How often the lag probe wakes up. Short enough to notice a backlog within a few milliseconds, long
#: enough to cost nothing measurable (200 timer callbacks a second).
DEFAULT_PROBE_INTERVAL_SECONDS = 0.005
#: CoDel's interval: lag must persist this long to count as a queue rather than a burst.
DEFAULT_WINDOW_SECONDS = 0.100
#: Late ticks needed within the window before lag counts as standing.
MIN_SAMPLES = 2


class LoopLagMonitor:
    """Measures how late the event loop runs a timer that should fire every ``interval`` seconds.

    :meth:`lag` is the *standing* lag, as CoDel uses the minimum queue delay over an interval: the
    smallest lateness of the ticks during the last ``window`` seconds (at least :data:`MIN_SAMPLES` of
    them), also counting how overdue the next tick is *now*. One late tick, from a garbage collection or
    the process being descheduled on a shared machine, is a stall and is not shed; lag that persists
    over several loop iterations is a queue.
    """

    def __init__(
        self,
        interval: float = DEFAULT_PROBE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
        window: float = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        if interval <= 0 or window <= 0:
            raise ValueError(f"interval and window must be positive, got {interval} and {window}")
        self.interval = interval
        self.window = window
        self.clock = clock
        self.last_lag = 0.0
        self._samples: deque[tuple[float, float]] = deque()  # (when, lag) within the window
        self._due: float | None = None
        self._task: asyncio.Task[None] | None = None

    def tick(self, now: float) -> None:
        """Record a probe wake-up at ``now`` and schedule the next one."""
        if self._due is not None:
            self.last_lag = max(0.0, now - self._due)
            self._samples.append((now, self.last_lag))
            while self._samples and self._samples[0][0] < now - self.window:
                self._samples.popleft()
        self._due = now + self.interval

    def lag(self, now: float | None = None) -> float:
        """Seconds the loop has been behind throughout the last window (0 before the first tick)."""
        if self._due is None:
            return 0.0
        now = self.clock() if now is None else now
        since = now - self.window
        recent = [lag for when, lag in self._samples if when >= since]
        if len(recent) < MIN_SAMPLES:
            # One late tick after a quiet spell is a stall (GC, the process descheduled), not a queue.
            return 0.0
        overdue = now - self._due
        if overdue > 0:
            recent.append(overdue)
        return min(recent)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def ensure_started(self) -> None:
        """Probe the running event loop (cheap when already probing it; call from inside the loop).

        A probe left on another loop (a test client, a restarted server) is replaced, so the lag is
        always the lag of the loop serving the request.
        """
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._due = None
        self.last_lag = 0.0
        self._samples.clear()
        self.tick(self.clock())
        self._task = loop.create_task(self._probe(), name="tripcast-loop-lag-probe")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _probe(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.tick(self.clock())


class Verdict(Enum):
    """What to do with a request that counts against the bounds."""

    ADMIT = "admit"
    TOO_MANY_IN_FLIGHT = "overload"
    LOOP_LAG = "loop_lag"


@dataclass(frozen=True, slots=True)
class SheddingPolicy:
    """Refuse when ``max_in_flight`` requests are already being served, or the loop lags more than
    ``max_loop_lag_seconds`` (``None`` turns the lag check off).

    ``max_in_flight`` bounds the queue the server controls: with ``S`` seconds of CPU per request on
    one event loop, the last admitted request waits about ``max_in_flight * S`` (Little's law), so the
    bound should be the latency budget divided by the service time.
    """

    max_in_flight: int
    max_loop_lag_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_loop_lag_seconds is not None and self.max_loop_lag_seconds <= 0:
            raise ValueError(f"max_loop_lag_seconds must be positive or None, got {self.max_loop_lag_seconds}")

    def decide(self, in_flight: int, loop_lag: float) -> Verdict:
        """The verdict for one more request, given what is in flight and the loop's current lag."""
        if in_flight >= self.max_in_flight:
            return Verdict.TOO_MANY_IN_FLIGHT
        # An idle server always admits one request: a lag spike (GC, a model swap) with nothing in
        # flight says nothing about queueing, and refusing everything would starve the probe of work.
        if self.max_loop_lag_seconds is not None and in_flight > 0 and loop_lag > self.max_loop_lag_seconds:
            return Verdict.LOOP_LAG
        return Verdict.ADMIT


def in_flight_bound(service_seconds: float, latency_budget_seconds: float, *, floor: int = 4) -> int:
    """Little's law: how many requests may queue on one loop so the last waits at most the budget."""
    if service_seconds <= 0 or latency_budget_seconds <= 0:
        raise ValueError("service time and latency budget must be positive")
    return max(floor, int(latency_budget_seconds / service_seconds))

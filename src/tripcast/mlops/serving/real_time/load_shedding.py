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
#: Span over which the loop's busy fraction is measured: 20 probe ticks. 25 ms reacted faster but saw a
#: cluster of a dozen requests as "busy" and refused at half of capacity.
DEFAULT_BUSY_WINDOW_SECONDS = 0.100
#: ASGI scope key set by a layer that already admitted the request and counted it in flight (the HTTP
#: protocol admits at header time, before the request's task runs): the middleware must not decide again.
ADMITTED_SCOPE_KEY = "tripcast.admitted"
#: Above this busy share (or with any standing loop lag) the loop is under pressure, and the in-flight
#: bound holds strictly; below it a burst may go up to ``burst_in_flight``.
DEFAULT_PRESSURE_BUSY = 0.85
#: Standing loop lag that counts as pressure (a few ticks' worth: the loop is not keeping up).
PRESSURE_LAG_SECONDS = 0.002
#: ASGI scope key set by the HTTP protocol when it refused the request's body as too large while the body
#: streamed in (chunked): it already answered 413 on the wire, the app only sees a disconnect.
BODY_TOO_LARGE_SCOPE_KEY = "tripcast.body_too_large"


def body_too_large(limit: int, declared: int | None = None) -> dict[str, object]:
    """The 413 body for a request body over ``limit`` bytes (``declared``: its Content-Length, if any)."""
    size = f"request body of {declared} bytes" if declared is not None else "request body"
    return {
        "detail": f"{size} exceeds {limit} bytes",
        "errors": [{"field": "body", "problem": f"larger than {limit} bytes"}],
    }


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
        cpu_clock: Callable[[], float] = time.thread_time,
        busy_window: float = DEFAULT_BUSY_WINDOW_SECONDS,
    ) -> None:
        if interval <= 0 or window <= 0 or busy_window <= 0:
            raise ValueError(f"interval and window must be positive, got {interval}, {window} and {busy_window}")
        self.interval = interval
        self.window = window
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.busy_window = busy_window
        self.last_lag = 0.0
        self._samples: deque[tuple[float, float]] = deque()  # (when, lag) within the window
        # (when, CPU seconds of the loop's thread): the probe runs on the loop, so its thread is the loop's.
        self._cpu: deque[tuple[float, float]] = deque()
        self._due: float | None = None
        self._busy = 0.0
        self._task: asyncio.Task[None] | None = None

    def tick(self, now: float) -> None:
        """Record a probe wake-up at ``now`` and schedule the next one."""
        if self._due is not None:
            self.last_lag = max(0.0, now - self._due)
            self._samples.append((now, self.last_lag))
            # Keep the last MIN_SAMPLES ticks however old: when one loop iteration takes longer than the
            # window, that is the worst queue of all, and it must not look like "too few samples".
            while len(self._samples) > MIN_SAMPLES and self._samples[0][0] < now - self.window:
                self._samples.popleft()
        self._cpu.append((now, self.cpu_clock()))
        # Keep one sample at or before the start of the busy window, so the span always covers it.
        while len(self._cpu) > 2 and self._cpu[1][0] <= now - self.busy_window:
            self._cpu.popleft()
        self._busy = self._busy_share()
        self._due = now + self.interval

    def busy(self) -> float:
        """Share of wall time the loop's thread spent on the CPU over the last ``busy_window`` (0 to 1).

        Above ~0.9 every new request adds to a queue the loop cannot see: requests wait in socket
        buffers while it works. Measured at the probe's ticks (and computed there: it only changes at a
        tick), so a request pays one attribute read for it.
        """
        return self._busy

    def _busy_share(self) -> float:
        if len(self._cpu) < 2:
            return 0.0
        (start, cpu_start), (end, cpu_end) = self._cpu[0], self._cpu[-1]
        if end <= start:
            return 0.0
        return min(1.0, max(0.0, (cpu_end - cpu_start) / (end - start)))

    def lag(self, now: float | None = None) -> float:
        """Seconds the loop has been behind throughout the last window (0 before the first tick)."""
        if self._due is None:
            return 0.0
        now = self.clock() if now is None else now
        since = now - self.window
        recent = [lag for when, lag in self._samples if when >= since]
        if len(recent) < MIN_SAMPLES:
            # Ticks slower than the window: judge the last few, whatever their age.
            recent = [lag for _, lag in self._samples]
        if len(recent) < MIN_SAMPLES:
            return 0.0  # just started: nothing to judge yet
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
        self._cpu.clear()
        self._busy = 0.0
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
    LOOP_BUSY = "loop_busy"


@dataclass(frozen=True, slots=True)
class SheddingPolicy:
    """Refuse when ``max_in_flight`` requests are already being served, the loop lags more than
    ``max_loop_lag_seconds``, or its thread was busy more than ``max_loop_busy`` of the recent wall time
    (``None`` turns either check off).

    The busy check keeps headroom: a loop busy all the time cannot drain the requests waiting in socket
    buffers, so they wait longer and longer although the loop itself never looks late. Refusing is cheap
    (microseconds at the HTTP protocol), so refusing while busy frees the CPU that drains them.

    ``max_in_flight`` bounds the queue the server controls: with ``S`` seconds of CPU per request on
    one event loop, the last admitted request waits about ``max_in_flight * S`` (Little's law), so the
    bound should be the latency budget divided by the service time. ``burst_in_flight`` (``None``: off)
    lets a burst go beyond it, up to that many, while the loop is not under pressure (busy share at most
    ``pressure_busy`` and no standing lag): the bound is for overload, not for bursts at moderate load.
    """

    max_in_flight: int
    max_loop_lag_seconds: float | None = None
    max_loop_busy: float | None = None
    burst_in_flight: int | None = None
    pressure_busy: float = DEFAULT_PRESSURE_BUSY

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_loop_lag_seconds is not None and self.max_loop_lag_seconds <= 0:
            raise ValueError(f"max_loop_lag_seconds must be positive or None, got {self.max_loop_lag_seconds}")
        if self.max_loop_busy is not None and not 0 < self.max_loop_busy <= 1:
            raise ValueError(f"max_loop_busy must be in (0, 1] or None, got {self.max_loop_busy}")
        if self.burst_in_flight is not None and self.burst_in_flight < self.max_in_flight:
            raise ValueError(
                f"burst_in_flight must be at least max_in_flight ({self.max_in_flight}), got {self.burst_in_flight}"
            )

    @property
    def uses_loop_signals(self) -> bool:
        """Whether any decision needs the loop's lag or busy share (else the probe need not run)."""
        return (
            self.max_loop_lag_seconds is not None or self.max_loop_busy is not None or self.burst_in_flight is not None
        )

    def under_pressure(self, loop_lag: float, loop_busy: float) -> bool:
        """The loop is not keeping up: busy beyond ``pressure_busy`` or any standing lag."""
        return loop_busy > self.pressure_busy or loop_lag > PRESSURE_LAG_SECONDS

    def decide(self, in_flight: int, loop_lag: float, loop_busy: float = 0.0) -> Verdict:
        """The verdict for one more request, given what is in flight and the loop's lag and busy share.

        With ``burst_in_flight``, the ``max_in_flight`` bound holds only while the loop is under pressure:
        requests are counted in flight from their headers, so after any short stall (a collection, the
        process descheduled) one loop iteration reads a burst of them at once. At moderate load that
        burst drains within milliseconds, and refusing it would turn every hiccup into 503s.
        """
        if in_flight >= self.max_in_flight:
            burst = self.burst_in_flight
            if burst is None or in_flight >= burst or self.under_pressure(loop_lag, loop_busy):
                return Verdict.TOO_MANY_IN_FLIGHT
        # No "idle server admits" exception: requests answered on the loop finish within one loop step,
        # so nothing is ever counted in flight while a backlog of them waits. A lone stall (GC, a model
        # swap) does not get here because the monitor reports *standing* lag, and refusing lets the
        # loop, and so the probe, catch up at once.
        if self.max_loop_lag_seconds is not None and loop_lag > self.max_loop_lag_seconds:
            return Verdict.LOOP_LAG
        if self.max_loop_busy is not None and loop_busy > self.max_loop_busy:
            return Verdict.LOOP_BUSY
        return Verdict.ADMIT


def in_flight_bound(service_seconds: float, latency_budget_seconds: float, *, floor: int = 4) -> int:
    """Little's law: how many requests may queue on one loop so the last waits at most the budget."""
    if service_seconds <= 0 or latency_budget_seconds <= 0:
        raise ValueError("service time and latency budget must be positive")
    return max(floor, int(latency_budget_seconds / service_seconds))


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused now: the verdict and the human sentence for the 503 body."""

    verdict: Verdict
    detail: str


class LoadShedder:
    """One server process's shedding state, shared by every layer that can refuse a request.

    The HTTP protocol (before an ASGI task exists) and the ASGI middleware (for servers without that
    protocol) ask the same object, so the in-flight count, the lag probe and the counters are one.
    ``prefix`` selects the guarded paths; everything else (health, metrics, docs) is never refused.
    ``max_body_bytes`` bounds every request body, counted as it arrives (chunked uploads included).
    """

    def __init__(
        self,
        policy: SheddingPolicy,
        *,
        lag_monitor: LoopLagMonitor | None = None,
        prefix: str = "/v1/",
        on_refusal: Callable[[str], None] | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        if max_body_bytes is not None and max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be at least 0, got {max_body_bytes}")
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        # Started lazily on the first guarded request: the shedder is built before the server's loop.
        self.lag_monitor = lag_monitor if lag_monitor is not None else LoopLagMonitor()
        self.prefix = prefix
        self.on_refusal = on_refusal
        # One event loop per worker process, so a plain integer is race-free here.
        self.in_flight = 0

    def guards(self, path: str) -> bool:
        return path.startswith(self.prefix)

    def refusal(self) -> Refusal | None:
        """``None`` to admit one more guarded request, else why it must be refused (and it is counted)."""
        lag = busy = 0.0
        policy = self.policy
        if policy.uses_loop_signals:
            self.lag_monitor.ensure_started()
            bursting = policy.burst_in_flight is not None and self.in_flight >= policy.max_in_flight
            if policy.max_loop_lag_seconds is not None or bursting:
                lag = self.lag_monitor.lag()
            if policy.max_loop_busy is not None or bursting:
                busy = self.lag_monitor.busy()
        verdict = policy.decide(self.in_flight, lag, busy)
        if verdict is Verdict.ADMIT:
            return None
        self.count_refusal(verdict.value)
        if verdict is Verdict.TOO_MANY_IN_FLIGHT:
            detail = f"server busy: {self.in_flight} requests in flight (max {self._bound(lag, busy)})"
        elif verdict is Verdict.LOOP_BUSY:
            detail = f"server busy: event loop {busy:.0%} busy (budget {policy.max_loop_busy:.0%})"
        else:
            budget_ms = (self.policy.max_loop_lag_seconds or 0.0) * 1000
            detail = f"server busy: event loop {lag * 1000:.0f} ms behind (budget {budget_ms:g} ms)"
        return Refusal(verdict, detail)

    def _bound(self, lag: float, busy: float) -> int:
        """The in-flight bound that applied: the burst allowance unless the loop is under pressure."""
        policy = self.policy
        if policy.burst_in_flight is None or policy.under_pressure(lag, busy):
            return policy.max_in_flight
        return policy.burst_in_flight

    def count_refusal(self, reason: str) -> None:
        if self.on_refusal is not None:
            self.on_refusal(reason)

"""Load shedding: the lag monitor and the admission policy with injected clocks and lag values (no sleeping
on timing outcomes), and the middleware's 503 for a lagging loop while health stays exempt."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tripcast.api.middleware import OverloadMiddleware
from tripcast.mlops.serving.real_time import ServingMetrics
from tripcast.mlops.serving.real_time.load_shedding import (
    LoadShedder,
    LoopLagMonitor,
    SheddingPolicy,
    Verdict,
    in_flight_bound,
)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_monitor_reports_no_lag_before_the_first_tick() -> None:
    assert LoopLagMonitor(clock=FakeClock()).lag() == 0.0


def test_monitor_measures_how_late_ticks_fire() -> None:
    monitor = LoopLagMonitor(interval=0.005, clock=FakeClock())
    monitor.tick(10.000)
    monitor.tick(10.030)  # due at 10.005: 25 ms late
    assert monitor.last_lag == pytest.approx(0.025)
    assert monitor.lag(10.031) == 0.0  # a single late tick is not yet a standing lag
    monitor.tick(10.065)  # due at 10.035: 30 ms late
    assert monitor.lag(10.066) == pytest.approx(0.025)


def test_monitor_counts_an_overdue_tick_while_the_loop_is_busy() -> None:
    monitor = LoopLagMonitor(interval=0.005, clock=FakeClock())
    for when in (10.000, 10.030, 10.065):  # 25 and 30 ms late
        monitor.tick(when)
    # The tick due at 10.070 has not run at 10.082: 12 ms overdue right now lowers the minimum.
    assert monitor.lag(10.082) == pytest.approx(0.012)


def test_monitor_lag_recovers_once_ticks_are_on_time() -> None:
    monitor = LoopLagMonitor(interval=0.005, clock=FakeClock())
    monitor.tick(10.000)
    monitor.tick(10.050)
    monitor.tick(10.0551)  # 0.1 ms late
    assert monitor.lag(10.056) == pytest.approx(0.0001, abs=1e-9)


def test_monitor_rejects_a_non_positive_interval_or_window() -> None:
    with pytest.raises(ValueError, match="interval"):
        LoopLagMonitor(interval=0)
    with pytest.raises(ValueError, match="window"):
        LoopLagMonitor(window=0)


def test_one_late_tick_among_punctual_ones_is_a_burst_not_a_queue() -> None:
    monitor = LoopLagMonitor(interval=0.005, window=0.100, clock=FakeClock())
    now = 10.0
    monitor.tick(now)
    for _ in range(10):  # 50 ms of punctual ticks
        now += 0.005
        monitor.tick(now)
    now += 0.005 + 0.030  # then the process is descheduled for 30 ms once
    monitor.tick(now)
    assert monitor.last_lag == pytest.approx(0.030)
    assert monitor.lag(now + 0.001) == pytest.approx(0.0)


def test_lag_that_persists_for_the_window_is_a_standing_queue() -> None:
    monitor = LoopLagMonitor(interval=0.005, window=0.100, clock=FakeClock())
    now = 10.0
    monitor.tick(now)
    for lateness in (0.020, 0.030, 0.025, 0.040, 0.022, 0.031):  # every loop iteration is slow
        now += 0.005 + lateness
        monitor.tick(now)
    assert monitor.lag(now + 0.001) == pytest.approx(0.022)


def test_samples_older_than_the_window_are_forgotten() -> None:
    monitor = LoopLagMonitor(interval=0.005, window=0.100, clock=FakeClock())
    monitor.tick(10.000)
    monitor.tick(10.005)  # punctual: lag 0
    monitor.tick(10.060)  # 50 ms late
    monitor.tick(10.115)  # 50 ms late; the punctual sample at 10.005 is now out of the window
    assert monitor.lag(10.116) == pytest.approx(0.050)


def test_a_single_long_stall_is_not_a_standing_queue() -> None:
    monitor = LoopLagMonitor(interval=0.005, window=0.100, clock=FakeClock())
    monitor.tick(10.000)
    monitor.tick(10.005)
    monitor.tick(10.310)  # the process was descheduled for 300 ms: one sample in the window
    assert monitor.last_lag == pytest.approx(0.300)
    assert monitor.lag(10.311) == 0.0


def test_loop_iterations_longer_than_the_window_are_a_standing_queue() -> None:
    """Every tick 100+ ms late leaves at most one sample per window: the worst queue, not a stall."""
    monitor = LoopLagMonitor(interval=0.005, window=0.100, clock=FakeClock())
    now = 10.0
    monitor.tick(now)
    for lateness in (0.110, 0.145, 0.120):
        now += 0.005 + lateness
        monitor.tick(now)
    assert monitor.lag(now + 0.001) == pytest.approx(0.120)  # the last two ticks were 145 and 120 ms late
    assert monitor.lag(now + 0.050) == pytest.approx(0.045)  # the next tick, due at +5 ms, is 45 ms overdue


def test_monitor_probes_the_running_loop_and_restarts_after_stop() -> None:
    monitor = LoopLagMonitor(interval=0.001)

    async def start_twice() -> tuple[bool, Any]:
        monitor.ensure_started()
        first = monitor._task
        monitor.ensure_started()  # same loop: the same probe
        same = monitor._task is first
        await asyncio.sleep(0.01)
        ticked = monitor._due is not None
        monitor.stop()
        return same and ticked, first

    same, first = asyncio.run(start_twice())
    assert same
    asyncio.run(start_twice())
    assert monitor._task is None and first.done()


@pytest.mark.parametrize(
    ("in_flight", "lag", "expected"),
    [
        (0, 0.0, Verdict.ADMIT),
        (3, 0.009, Verdict.ADMIT),
        (3, 0.011, Verdict.LOOP_LAG),
        (0, 0.500, Verdict.LOOP_LAG),  # inline answers are never in flight: the standing lag decides
        (8, 0.0, Verdict.TOO_MANY_IN_FLIGHT),
        (8, 0.500, Verdict.TOO_MANY_IN_FLIGHT),  # the in-flight bound is reported first
    ],
)
def test_policy_verdicts(in_flight: int, lag: float, expected: Verdict) -> None:
    assert SheddingPolicy(max_in_flight=8, max_loop_lag_seconds=0.010).decide(in_flight, lag) is expected


def test_policy_without_lag_budget_only_counts() -> None:
    policy = SheddingPolicy(max_in_flight=2, max_loop_lag_seconds=None)
    assert policy.decide(1, 10.0) is Verdict.ADMIT
    assert policy.decide(2, 0.0) is Verdict.TOO_MANY_IN_FLIGHT


@pytest.mark.parametrize(("max_in_flight", "lag"), [(0, 0.01), (4, 0.0), (4, -1.0)])
def test_policy_rejects_nonsense_bounds(max_in_flight: int, lag: float) -> None:
    with pytest.raises(ValueError):
        SheddingPolicy(max_in_flight, lag)


def test_littles_law_bound() -> None:
    # 0.5 ms of CPU per request and a 16 ms queueing budget: 32 requests may wait.
    assert in_flight_bound(0.0005, 0.016) == 32
    assert in_flight_bound(0.1, 0.016) == 4  # never below the floor
    with pytest.raises(ValueError):
        in_flight_bound(0, 0.016)


class StuckMonitor(LoopLagMonitor):
    """A monitor whose lag is set by the test."""

    def __init__(self, lag: float, busy: float = 0.0) -> None:
        super().__init__()
        self.fixed = lag
        self.fixed_busy = busy
        self.started = 0

    def busy(self) -> float:
        return self.fixed_busy

    def ensure_started(self) -> None:
        self.started += 1

    def lag(self, now: float | None = None) -> float:
        return self.fixed


def _call(guarded: OverloadMiddleware, path: str) -> tuple[int, dict[str, str], bytes, bool]:
    sent: list[dict[str, Any]] = []
    body_read = False

    async def receive() -> dict[str, Any]:
        nonlocal body_read
        body_read = True
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", b"2")]}
    asyncio.run(guarded(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:]), body_read


async def echo_app(scope: Any, receive: Any, send: Any) -> None:
    await receive()  # reads the body, like the real endpoint
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_lagging_loop_sheds_predictions_before_the_body_is_read_but_not_health() -> None:
    metrics = ServingMetrics()
    monitor = StuckMonitor(lag=0.050)
    guarded = OverloadMiddleware(
        echo_app,
        max_in_flight=8,
        timeout_seconds=5,
        max_body_bytes=1000,
        metrics=metrics,
        max_loop_lag_seconds=0.010,
        lag_monitor=monitor,
    )
    guarded.in_flight = 1  # something is being served: the lag is queueing, not an idle blip

    status, headers, body, body_read = _call(guarded, "/v1/predictions")
    assert status == 503 and headers["retry-after"] == "1"
    assert "50 ms behind" in json.loads(body)["detail"] and "budget 10 ms" in json.loads(body)["detail"]
    assert not body_read
    assert metrics.rejected.labels("loop_lag")._value.get() == 1

    status, _, body, body_read = _call(guarded, "/health/live")
    assert status == 200 and body == b"ok" and body_read

    monitor.fixed = 0.002
    status, _, body, _ = _call(guarded, "/v1/predictions")
    assert status == 200 and body == b"ok"
    assert guarded.in_flight == 1  # back to what the test set: the admitted request was released
    assert monitor.started >= 2


def test_lag_budget_none_never_sheds_on_lag() -> None:
    monitor = StuckMonitor(lag=5.0)
    guarded = OverloadMiddleware(
        echo_app,
        max_in_flight=8,
        timeout_seconds=5,
        max_body_bytes=1000,
        max_loop_lag_seconds=None,
        lag_monitor=monitor,
    )
    guarded.in_flight = 3
    status, _, _, _ = _call(guarded, "/v1/predictions")
    assert status == 200
    assert monitor.started == 0  # no probe runs when the check is off


class FakeCpuClock:
    """CPU seconds of the loop thread, advanced by the test."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_busy_share_is_cpu_time_over_wall_time_within_the_busy_window() -> None:
    cpu = FakeCpuClock()
    monitor = LoopLagMonitor(interval=0.005, clock=FakeClock(), cpu_clock=cpu, busy_window=0.025)
    assert monitor.busy() == 0.0  # no ticks yet
    now = 10.0
    for _ in range(10):  # 50 ms at 40% busy
        monitor.tick(now)
        now += 0.005
        cpu.seconds += 0.002
    assert monitor.busy() == pytest.approx(0.4)
    for _ in range(6):  # then 30 ms fully busy: the 25 ms window forgets the quiet part
        monitor.tick(now)
        now += 0.005
        cpu.seconds += 0.005
    monitor.tick(now)
    assert monitor.busy() == pytest.approx(1.0)


def test_policy_refuses_while_the_loop_is_too_busy() -> None:
    policy = SheddingPolicy(max_in_flight=8, max_loop_lag_seconds=0.010, max_loop_busy=0.9)
    assert policy.decide(0, 0.0, 0.85) is Verdict.ADMIT
    assert policy.decide(0, 0.0, 0.95) is Verdict.LOOP_BUSY
    assert policy.decide(0, 0.020, 0.95) is Verdict.LOOP_LAG  # lag is reported first
    assert SheddingPolicy(max_in_flight=8).decide(0, 0.0, 1.0) is Verdict.ADMIT  # checks off
    with pytest.raises(ValueError, match="max_loop_busy"):
        SheddingPolicy(max_in_flight=8, max_loop_busy=1.5)


def test_shedder_names_the_reason_and_counts_it() -> None:
    reasons: list[str] = []
    busy_monitor = StuckMonitor(lag=0.0, busy=0.97)
    shedder = LoadShedder(
        SheddingPolicy(max_in_flight=2, max_loop_lag_seconds=0.010, max_loop_busy=0.9),
        lag_monitor=busy_monitor,
        on_refusal=reasons.append,
    )
    refusal = shedder.refusal()
    assert refusal is not None and refusal.verdict is Verdict.LOOP_BUSY
    assert refusal.detail == "server busy: event loop 97% busy (budget 90%)"
    shedder.in_flight = 2
    refusal = shedder.refusal()
    assert refusal is not None and "2 requests in flight (max 2)" in refusal.detail
    assert reasons == ["loop_busy", "overload"]
    assert shedder.guards("/v1/predictions") and not shedder.guards("/health/live")


@pytest.mark.parametrize(
    ("in_flight", "lag", "busy", "expected"),
    [
        (8, 0.0, 0.70, Verdict.ADMIT),  # a burst at moderate load: beyond the bound, admitted
        (40, 0.0, 0.80, Verdict.ADMIT),
        (64, 0.0, 0.10, Verdict.TOO_MANY_IN_FLIGHT),  # the burst allowance is a bound too
        (8, 0.0, 0.90, Verdict.TOO_MANY_IN_FLIGHT),  # under pressure (busy) the bound is strict
        (8, 0.003, 0.50, Verdict.TOO_MANY_IN_FLIGHT),  # under pressure (standing lag) as well
        (7, 0.003, 0.90, Verdict.ADMIT),  # within the bound, pressure alone refuses nothing
    ],
)
def test_burst_allowance_holds_only_while_the_loop_keeps_up(
    in_flight: int, lag: float, busy: float, expected: Verdict
) -> None:
    policy = SheddingPolicy(max_in_flight=8, max_loop_lag_seconds=0.010, max_loop_busy=0.95, burst_in_flight=64)
    assert policy.decide(in_flight, lag, busy) is expected


def test_burst_allowance_cannot_be_below_the_bound() -> None:
    with pytest.raises(ValueError, match="burst_in_flight"):
        SheddingPolicy(max_in_flight=8, burst_in_flight=4)


def test_shedder_reads_the_loop_for_a_burst_even_with_its_checks_off() -> None:
    calm, pressed = StuckMonitor(lag=0.0, busy=0.5), StuckMonitor(lag=0.0, busy=0.99)
    for monitor, admitted in ((calm, True), (pressed, False)):
        shedder = LoadShedder(SheddingPolicy(max_in_flight=2, burst_in_flight=16), lag_monitor=monitor)
        shedder.in_flight = 5
        refusal = shedder.refusal()
        assert (refusal is None) is admitted
        if refusal is not None:
            assert "5 requests in flight (max 2)" in refusal.detail  # the bound that applied
    shedder = LoadShedder(SheddingPolicy(max_in_flight=2, burst_in_flight=16), lag_monitor=calm)
    shedder.in_flight = 16
    refusal = shedder.refusal()
    assert refusal is not None and "16 requests in flight (max 16)" in refusal.detail

"""poll_until: the one wait-for-another-process loop (replay's exposures, the prediction log)."""

from __future__ import annotations

from tripcast.core.services.polling import poll_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_the_first_good_value_without_sleeping_further():
    clock, values = FakeClock(), iter([1, 2, 3, 4])
    value, done = poll_until(
        lambda: next(values), lambda v: v >= 3, seconds=10, every=0.5, monotonic=clock.monotonic, sleep=clock.sleep
    )
    assert (value, done) == (3, True)
    assert clock.sleeps == [0.5, 0.5]


def test_gives_up_at_the_deadline_with_the_last_value_seen():
    clock, calls = FakeClock(), []

    def probe() -> int:
        calls.append(clock.now)
        return len(calls)

    value, done = poll_until(
        probe, lambda v: v > 100, seconds=2, every=0.5, monotonic=clock.monotonic, sleep=clock.sleep
    )
    assert not done
    assert calls == [0.0, 0.5, 1.0, 1.5, 2.0]  # once more at the deadline
    assert value == 5


def test_a_probe_done_at_once_never_sleeps():
    clock = FakeClock()
    assert poll_until(lambda: "x", bool, seconds=0, every=1, monotonic=clock.monotonic, sleep=clock.sleep) == (
        "x",
        True,
    )
    assert clock.sleeps == []

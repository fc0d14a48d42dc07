"""FileLocks: a refused process names the holder even when it asks in the instant before the holder says who it is."""

from __future__ import annotations

import threading
import time

import pytest
from filelock import FileLock

from tripcast.core.ports.locks import LockHeldError
from tripcast.security import locks as file_locks
from tripcast.security.locks import FileLocks


def test_a_refusal_in_the_window_before_the_holder_names_itself_waits_for_the_name(tmp_path):
    raw = FileLock(str(tmp_path / "month-x.lock"))
    raw.acquire()  # taken, holder file not written yet: the window the race hit

    def name_the_holder_late() -> None:
        time.sleep(0.3)
        file_locks._write_holder(tmp_path / "month-x.holder.json", "tripcast validate 2021-01")

    writer = threading.Thread(target=name_the_holder_late)
    writer.start()
    try:
        with (
            pytest.raises(LockHeldError, match="held by tripcast validate 2021-01, pid"),
            FileLocks(tmp_path).hold("month-x", "second"),
        ):
            pass
    finally:
        writer.join()
        raw.release()


def test_a_holder_that_never_names_itself_is_reported_unknown_after_the_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(file_locks, "HOLDER_WAIT_SECONDS", 0.1)
    raw = FileLock(str(tmp_path / "month-y.lock"))
    raw.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(LockHeldError) as refused, FileLocks(tmp_path).hold("month-y", "second"):
            pass
        assert refused.value.holder is None
        assert time.monotonic() - started < 2
    finally:
        raw.release()

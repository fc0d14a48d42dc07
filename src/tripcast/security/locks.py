"""Adapters of the :class:`~tripcast.core.ports.locks.Locks` port.

* :class:`FileLocks`: ``flock`` locks (the ``filelock`` package) on files under ``<data_dir>/locks``,
  for everything that lives on this machine's disk. The kernel drops a lock when its holder dies,
  even by SIGKILL, so a crash never leaves a stale lock behind.
* :class:`PostgresAdvisoryLocks`: session advisory locks in the PostgreSQL database that holds the
  registry, so promotions are serialised across machines. PostgreSQL drops them when the holder's
  connection ends.

Both refuse at once rather than queue: a second ``tripcast promote`` that waited would then gate
against a champion it never saw.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tripcast.core.ports.locks import LockHeldError, LockHolder, Locks


def _whoami() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"pid {os.getpid()} on {socket.gethostname()} ({user})"


class FileLocks(Locks):
    """Locks as files ``<directory>/<name>.lock``; ``<name>.holder.json`` says who holds each one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextlib.contextmanager
    def hold(self, name: str, purpose: str) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        lock = FileLock(str(self.directory / f"{stem}.lock"))
        holder_file = self.directory / f"{stem}.holder.json"
        try:
            lock.acquire(blocking=False)
        except Timeout:
            raise LockHeldError(name, _await_holder(holder_file)) from None
        try:
            _write_holder(holder_file, purpose)
            yield
        finally:
            lock.release()


def _write_holder(path: Path, purpose: str) -> None:
    payload = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "who": f"{purpose}, {_whoami()}",
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


#: How long a refused process waits for a new holder to name itself: the holder writes its file just after
#: taking the lock, so a refusal in between would otherwise read no holder (or the previous, dead one).
HOLDER_WAIT_SECONDS = 2.0


def _await_holder(path: Path) -> LockHolder | None:
    """The lock's live holder, polled for up to :data:`HOLDER_WAIT_SECONDS`; None when none names itself."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while (holder := _read_holder(path)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return holder


def _read_holder(path: Path) -> LockHolder | None:
    """The holder the file names, unless that process is gone (the new holder has not written yet)."""
    try:
        payload: dict[str, Any] = json.loads(path.read_text())
        holder = LockHolder(str(payload["who"]), datetime.fromisoformat(payload["since"]))
        if payload["host"] == socket.gethostname() and not _alive(int(payload["pid"])):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return holder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


#: First key of every Tripcast advisory lock (the second is the lock name's hash): "tc".
_ADVISORY_NAMESPACE = 0x7463


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class PostgresAdvisoryLocks(Locks):
    """Session advisory locks ``pg_try_advisory_lock(namespace, hash(name))`` in the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.contextmanager
    def hold(self, name: str, purpose: str) -> Iterator[None]:
        # The application name is what a refused process reads back from pg_stat_activity.
        label = f"{purpose}, {_whoami()}"[:63]
        engine = create_engine(
            self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"application_name": label}
        )
        key = {"ns": _ADVISORY_NAMESPACE, "key": _advisory_key(name)}
        try:
            with engine.connect() as conn:
                if not conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), key).scalar():
                    raise LockHeldError(name, _advisory_holder(conn, key))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), key)
        finally:
            engine.dispose()


def _advisory_holder(conn: Any, key: dict[str, int]) -> LockHolder | None:
    row = conn.execute(
        text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :ns AND l.objid = :key AND l.objsubid = 2"
        ),
        key,
    ).first()
    if row is None:
        return None
    return LockHolder(row.application_name or "another PostgreSQL session", row.backend_start)

"""Start ``tripcast serve`` (or any server) as a subprocess and wait until *that* process answers.

A readiness check that only asks the port accepts whatever already listens there: another test's server,
or a leftover one. Its answers (a 401 for a key it never saw, another model) then look like our server's
bugs. Here a server is ready only when the listening socket on its port belongs to the process we started
(or one of its children: ``bash -c`` -> ``tripcast`` -> uvicorn workers) and its own check passes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listener_pids(port: int) -> set[int]:
    """Processes of this user with a socket listening on ``port`` (any address)."""
    found: set[int] = set()
    for proc in psutil.process_iter(["pid"]):
        try:
            connections = proc.net_connections(kind="inet")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections):
            found.add(proc.pid)
    return found


def owns_port(process: subprocess.Popen[bytes] | subprocess.Popen[str], port: int) -> bool:
    """Whether ``process`` or one of its descendants listens on ``port``."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    for proc in tree:
        try:
            connections = proc.net_connections(kind="inet")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections):
            return True
    return False


def describe_listeners(port: int) -> str:
    """Who listens on ``port`` (pid and command line), for failure messages."""
    lines = []
    for pid in sorted(listener_pids(port)):
        try:
            lines.append(f"{pid}: {' '.join(psutil.Process(pid).cmdline())[:200]}")
        except psutil.NoSuchProcess:
            continue
    return "; ".join(lines) or "nobody"


def wait_until_serving(
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
    port: int,
    ready: Callable[[], bool],
    *,
    log: Path | None = None,
    seconds: float = 120,
) -> None:
    """Poll until ``process`` (or a child) listens on ``port`` and ``ready()`` is true.

    Fails when the process exits first, or at the deadline, naming whoever else listens on the port.
    """
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"exited {process.returncode} before serving on :{port}:\n{tail}")
        if owns_port(process, port):
            try:
                if ready():
                    return
            except httpx.HTTPError as exc:
                last = exc
        else:
            last = f"port {port} held by {describe_listeners(port)}, not by pid {process.pid}"
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"not serving on :{port} after {seconds:.0f} s ({last}):\n{tail}")


def answers_ready(base: str) -> Callable[[], bool]:
    """``/health/ready`` of the server at ``base`` is 200 (a model is loaded)."""
    return lambda: httpx.get(f"{base}/health/ready", timeout=2).status_code == 200


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], *, group: bool = False) -> int:
    """SIGTERM (its process group when ``group``), then SIGKILL after 15 s; the exit status."""
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        try:
            return process.wait(15)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait(5)
    return int(process.returncode)


@contextmanager
def serve_process(
    env: Mapping[str, str], log: Path, *extra: str, port: int | None = None, seconds: float = 90
) -> Iterator[str]:
    """``tripcast serve`` in a subprocess on ``port`` (default: a free one), ready; stopped on exit.

    Yields the base URL. ``extra`` are further ``serve`` options (``--workers 2``, say).
    """
    port = port or free_port()
    command: Sequence[str] = [
        sys.executable, "-c", "from tripcast.cli.serving import app; app()",
        "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *extra,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:  # a file, not a pipe nobody drains
        process = subprocess.Popen(list(command), env=dict(env), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(process, port, answers_ready(base), log=log, seconds=seconds)
        yield base
    finally:
        stop_process(process)

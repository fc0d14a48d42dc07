"""Making a written file survive a crash: flush it, then its folder's entry; and say why a write failed.

Every writer that publishes a file by rename (parquet store, downloads, batch outputs) flushes the file
before the rename and the folder after it, so neither a SIGKILL nor a power cut leaves a hollow file under
the final name. It sits beside :mod:`tripcast.settings`, below the adapter packages, so that data
engineering and mlops (which may not import each other) share it.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush ``path``'s bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder: Path) -> None:
    """Flush ``folder``'s entries (a rename is durable only then); file systems that refuse it are let be."""
    with suppress(OSError):  # some file systems refuse fsync on folders; the rename already happened
        fsync_file(folder)


def describe_os_error(exc: OSError) -> str:
    """The operating system's words for ``exc`` (e.g. "No space left on device"), on one line."""
    if exc.errno:
        return os.strerror(exc.errno)
    return " ".join(str(exc).split())[:200]

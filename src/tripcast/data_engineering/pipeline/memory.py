"""Hand memory freed by one step back to the operating system before the next step starts.

Validation frees every batch it read, but the allocators keep the pages: Arrow's pool
(mimalloc) and glibc's malloc arenas held 1.4 GB of a 300 MB month after validation, which
the transform step's DuckDB (3 GB limit) then came on top of. Releasing them brings the
process back to ~0.3 GB, so the pipeline's peak is the largest step, not the sum of steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa


def release_freed_memory() -> None:
    """Return free pages of Arrow's memory pool and of glibc's heap to the OS (best effort, never fails)."""
    pa.default_memory_pool().release_unused()
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        trim = ctypes.CDLL(libc_name).malloc_trim  # glibc only; musl and macOS have no malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)

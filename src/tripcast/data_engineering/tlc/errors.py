"""Errors raised by the TLC trip-data layer; both are user errors the CLI prints without a traceback."""

from __future__ import annotations

from pathlib import Path

from tripcast.core.domain.errors import TripcastError


class TlcFileError(TripcastError):
    """A TLC file is missing, truncated, unreadable or lacks required columns; the message names the file."""


class DataUnavailableError(TripcastError):
    """A month's TLC file cannot be obtained: not published, or the network cannot be reached."""


def where_to_get_it(url: str, dest: Path) -> str:
    """The ways out when a month cannot be downloaded, naming the exact URL and the exact target path."""
    return (
        f"Download {url} yourself and save it as {dest.resolve()}; "
        f"or pass --source DIR (or set TRIPCAST_RAW_DIR=DIR) for a folder that holds {dest.name}; "
        "or use --synthetic to generate a synthetic month instead."
    )

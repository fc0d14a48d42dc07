"""Turn records from any source (rows, JSON objects, stream events) into canonical trips."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from tripcast.data_engineering.tlc.casting import conform


def records_to_trips(records: Iterable[Mapping[str, Any]], service: str = "green") -> pd.DataFrame:
    """Canonical trips from TLC-named (``PULocationID``...) or canonical-named records.

    Casting reuses the TLC loader's :func:`~tripcast.data_engineering.tlc.casting.conform`, so a
    value that cannot be cast becomes a null *and is recorded*, and the validator quarantines it
    as ``wrong_type_<column>`` instead of letting it through.
    """
    return conform(pd.DataFrame.from_records(list(records)), service=service)


def frame_digest(frame: pd.DataFrame) -> str:
    """A content hash of a frame (row order included), for lineage and rerun detection."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()

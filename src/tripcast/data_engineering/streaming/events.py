"""Trip events on a stream: one JSON object per trip, grouped into micro-batches of canonical trips."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tripcast.data_engineering.ingestion.records import records_to_trips


def encode_event(trip: Mapping[str, Any]) -> bytes:
    """A trip as UTF-8 JSON; timestamps become ISO strings."""
    return json.dumps(dict(trip), default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)).encode()


@dataclass
class MicroBatch:
    """Trips decoded from up to ``batch_size`` events; undecodable events are kept aside with their error."""

    trips: pd.DataFrame
    ids: list[str]
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def decode_batch(events: list[tuple[str, bytes]], service: str) -> MicroBatch:
    """``(id, payload)`` pairs -> a micro-batch; a payload that is not a JSON object is rejected, not dropped."""
    records, ids, rejected = [], [], []
    for event_id, payload in events:
        try:
            record = json.loads(payload)
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        except ValueError as exc:
            rejected.append((event_id, str(exc)))
            continue
        records.append(record)
        ids.append(event_id)
    return MicroBatch(records_to_trips(records, service), ids, rejected)

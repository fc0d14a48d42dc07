"""Trip events on a stream: one JSON object per trip, grouped into micro-batches of canonical trips."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tripcast.data_engineering.ingestion.records import records_to_trips

#: Longest reason kept for a rejected event (a 400-digit value should not make a 400-digit reason).
MAX_REASON_CHARS = 300


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
    """``(id, payload)`` pairs -> a micro-batch; an event that cannot become a trip is rejected with its reason.

    A payload that is not a JSON object is rejected, never dropped. If converting the batch fails (one
    record holding, say, a 400-digit number that no float can hold), each record is converted on its own to
    find the ones at fault: they are rejected alone and the rest of the batch goes through.
    """
    records: list[dict[str, Any]] = []
    ids: list[str] = []
    rejected: list[tuple[str, str]] = []
    for event_id, payload in events:
        try:
            record = json.loads(payload)
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        except (ValueError, RecursionError) as exc:
            rejected.append((event_id, _reason(exc)))
            continue
        records.append(record)
        ids.append(event_id)
    try:
        trips = records_to_trips(records, service)
    except Exception:  # noqa: BLE001 - isolate the poison records instead of failing the batch
        records, ids = _without_poison(records, ids, service, rejected)
        trips = records_to_trips(records, service)
    return MicroBatch(trips, ids, rejected)


def _without_poison(
    records: list[dict[str, Any]], ids: list[str], service: str, rejected: list[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    kept_records, kept_ids = [], []
    for event_id, record in zip(ids, records, strict=True):
        try:
            records_to_trips([record], service)
        except Exception as exc:  # noqa: BLE001 - this record alone is rejected, with the reason
            rejected.append((event_id, _reason(exc)))
            continue
        kept_records.append(record)
        kept_ids.append(event_id)
    return kept_records, kept_ids


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."

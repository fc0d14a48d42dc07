"""A Redis Streams consumer-group scorer with at-least-once delivery and nothing lost on a crash.

Each round first reclaims entries another consumer read but never acknowledged (``XAUTOCLAIM`` after
``claim_idle_ms``), then reads new ones (``XREADGROUP``). Predictions, dead letters and the ``XACK`` of
the whole batch are written in one ``MULTI``/``EXEC`` transaction: a consumer that dies before it commits
leaves its entries pending for another to reclaim, and one that dies after has finished its work.
Malformed events go to the dead-letter stream with the reason; an entry delivered more than
``max_deliveries`` times (it keeps crashing its consumers) is dead-lettered instead of retried forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor
from tripcast.mlops.serving.streaming.events import parse_trip_event

log = logging.getLogger(__name__)

Entry = tuple[str, dict[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class StreamNames:
    """The streams and consumer group one scorer works with."""

    input: str
    output: str
    dead_letter: str
    group: str = "tripcast-scorers"


@dataclass(slots=True)
class BatchOutcome:
    """What one round did."""

    scored: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return self.scored + self.dead_lettered


def _id(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class StreamScorer:
    """Scores trip events from ``names.input`` into ``names.output`` as consumer ``consumer``."""

    def __init__(
        self,
        client: redis.Redis,
        names: StreamNames,
        model: Callable[[], Predictor],
        *,
        consumer: str,
        batch_size: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        output_maxlen: int = 1_000_000,
    ) -> None:
        self.client = client
        self.names = names
        self.model = model
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.output_maxlen = output_maxlen
        self._claim_cursor = "0-0"

    def ensure_group(self) -> None:
        """Create the consumer group (and the input stream) if missing; start from the beginning."""
        try:
            self.client.xgroup_create(self.names.input, self.names.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_new(self, block_ms: int | None = None) -> list[Entry]:
        """Entries never delivered to any consumer of the group (they become pending for this one)."""
        response: Any = self.client.xreadgroup(
            self.names.group,
            self.consumer,
            {self.names.input: ">"},
            count=self.batch_size,
            block=self.block_ms if block_ms is None else block_ms,
        )
        return [(_id(i), f) for _, entries in (response or []) for i, f in entries]

    def reclaim(self) -> list[Entry]:
        """Entries pending on another (crashed or stuck) consumer for longer than ``claim_idle_ms``."""
        result = self.client.xautoclaim(
            self.names.input,
            self.names.group,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id=self._claim_cursor,
            count=self.batch_size,
        )
        cursor, entries = result[0], result[1]
        self._claim_cursor = _id(cursor)
        # Entries deleted from the stream while pending come back with no fields; nothing to score.
        return [(_id(i), f) for i, f in entries if f]

    def process_once(self, block_ms: int | None = None) -> BatchOutcome:
        """Reclaim abandoned entries, else read new ones, and handle one batch."""
        reclaimed = self.reclaim()
        entries = reclaimed or self.read_new(block_ms)
        outcome = self.handle(entries, reclaimed=bool(reclaimed))
        outcome.reclaimed = len(reclaimed)
        return outcome

    def handle(self, entries: list[Entry], *, reclaimed: bool = False) -> BatchOutcome:
        """Score valid events, dead-letter the rest, and acknowledge all of them in one transaction."""
        outcome = BatchOutcome()
        if not entries:
            return outcome
        deliveries = self._deliveries([i for i, _ in entries]) if reclaimed else {}
        valid: list[tuple[str, TripRequest]] = []
        dead: list[tuple[str, dict[bytes, bytes], str]] = []
        for entry_id, fields in entries:
            if deliveries.get(entry_id, 0) > self.max_deliveries:
                dead.append((entry_id, fields, f"delivered {deliveries[entry_id]} times without being scored"))
                continue
            try:
                valid.append((entry_id, parse_trip_event(fields)))
            except InvalidInputError as exc:
                dead.append((entry_id, fields, str(exc)))
        predictor = self.model() if valid else None
        minutes = predictor.predict_trips([r for _, r in valid]) if predictor is not None else []
        pipe = self.client.pipeline(transaction=True)
        for (entry_id, _), value in zip(valid, minutes, strict=True):
            assert predictor is not None
            pipe.xadd(
                self.names.output,
                {
                    "source_id": entry_id,
                    "minutes": repr(float(value)),
                    "model_name": predictor.model_name,
                    "model_version": predictor.model_version,
                },
                maxlen=self.output_maxlen,
                approximate=True,
            )
        for entry_id, fields, reason in dead:
            letter: dict[Any, Any] = {"source_id": entry_id, "reason": reason, **_as_text(fields)}
            pipe.xadd(self.names.dead_letter, letter)
            key = reason.split(":", 1)[0]
            outcome.reasons[key] = outcome.reasons.get(key, 0) + 1
        pipe.xack(self.names.input, self.names.group, *[i for i, _ in entries])
        pipe.execute()
        outcome.scored = len(valid)
        outcome.dead_lettered = len(dead)
        return outcome

    def _deliveries(self, ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry_id in ids:
            found = self.client.xpending_range(self.names.input, self.names.group, entry_id, entry_id, 1)
            if found:
                counts[entry_id] = int(found[0]["times_delivered"])
        return counts

    def run(self, stop: threading.Event, *, idle_rounds: int | None = None) -> BatchOutcome:
        """Process until ``stop`` is set (or ``idle_rounds`` rounds in a row found nothing); totals."""
        self.ensure_group()
        total = BatchOutcome()
        idle = 0
        while not stop.is_set():
            try:
                outcome = self.process_once()
            except redis.ConnectionError as exc:
                log.warning("redis unavailable (%s); retrying", exc)
                stop.wait(1.0)
                continue
            total.scored += outcome.scored
            total.dead_lettered += outcome.dead_lettered
            total.reclaimed += outcome.reclaimed
            for key, count in outcome.reasons.items():
                total.reasons[key] = total.reasons.get(key, 0) + count
            idle = 0 if outcome.handled else idle + 1
            if idle_rounds is not None and idle >= idle_rounds:
                break
        return total


def _as_text(fields: dict[bytes, bytes]) -> dict[str, str]:
    out = {}
    for key, value in fields.items():
        name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
        if name in ("source_id", "reason"):
            name = f"original_{name}"
        out[name] = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return out

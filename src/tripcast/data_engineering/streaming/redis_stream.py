"""Trip events on a Redis Stream, read by a consumer group into micro-batches (at-least-once).

Events are ``XADD``-ed with one field, ``trip`` (JSON). A consumer reads with ``XREADGROUP`` up to
``batch_size`` events or until ``block_ms`` passes, hands the micro-batch over, and ``XACK``s it only
after it was handled: a consumer that dies mid-batch leaves the events pending. Before reading new
events, a consumer reclaims events another consumer left pending for ``claim_idle_ms`` (``XAUTOCLAIM``),
so a crashed consumer's batch is delivered again instead of stranded.

When a span is active while publishing (tracing on), each event also carries the W3C ``traceparent`` field
(and ``tracestate`` when set): the stream scorer continues the producer's trace from it.

An event that cannot become a trip is never acked away: it is moved to the dead-letter stream (default
``<stream>:dead``) with the reason and its original fields, in the same transaction that acknowledges
it. So is an event delivered more than ``max_deliveries`` times (it keeps killing its consumers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import redis
from opentelemetry.propagate import inject

from tripcast.data_engineering.streaming.events import MicroBatch, decode_batch, encode_event

FIELD = b"trip"

Entry = tuple[str, dict[bytes, bytes]]


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class RedisTripStream:
    """One stream + consumer group; ``publish`` for producers, ``read_batch``/``ack`` for consumers."""

    def __init__(
        self,
        url: str,
        stream: str,
        group: str = "tripcast",
        consumer: str = "tripcast-1",
        *,
        service: str = "green",
        batch_size: int = 500,
        block_ms: int = 1000,
        dead_letter: str | None = None,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
    ) -> None:
        self.client = redis.Redis.from_url(url)
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.service = service
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.dead_letter = dead_letter or f"{stream}:dead"
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self._claim_cursor = "0-0"

    def ensure_group(self) -> None:
        """Create the stream and the consumer group (reading from the beginning) if missing."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, trips: Iterable[Mapping[str, Any]]) -> int:
        """Append trips as events (pipelined); return how many. Events carry the active span's ``traceparent``."""
        context: dict[str, str] = {}
        inject(context)  # empty unless a span is recording: one trace context for the whole publish call
        trace_fields: dict[Any, Any] = {key.encode(): value.encode() for key, value in context.items()}
        pipe = self.client.pipeline(transaction=False)
        n = 0
        for trip in trips:
            pipe.xadd(self.stream, {FIELD: encode_event(trip), **trace_fields})
            n += 1
        pipe.execute()
        return n

    def read_batch(self) -> MicroBatch:
        """The next micro-batch for this consumer (empty when nothing arrived within ``block_ms``).

        Events abandoned by another consumer come first. Events that cannot become trips are
        dead-lettered (and acknowledged) here, and still listed in ``rejected``.
        """
        entries = self.reclaim()
        too_often: list[tuple[str, str]] = []
        if entries:
            counts = self._deliveries([i for i, _ in entries])
            too_often = [
                (i, f"delivered {counts[i]} times without being handled")
                for i, _ in entries
                if counts.get(i, 0) > self.max_deliveries
            ]
            stale = {i for i, _ in too_often}
            entries = [(i, f) for i, f in entries if i not in stale]
        else:
            entries = self._read_new()
        batch = decode_batch([(i, f.get(FIELD, b"")) for i, f in entries], self.service)
        batch.rejected = too_often + batch.rejected
        if batch.rejected:
            originals = dict(entries)
            self._dead_letter([(i, originals.get(i, {}), reason) for i, reason in batch.rejected])
        return batch

    def reclaim(self) -> list[Entry]:
        """Events pending on any consumer for at least ``claim_idle_ms``, now claimed by this one."""
        answer: Any = self.client.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id=self._claim_cursor,
            count=self.batch_size,
        )
        self._claim_cursor = _text(answer[0])
        # Events deleted from the stream while pending come back without fields: nothing to deliver.
        return [(_text(i), f) for i, f in answer[1] if f]

    def _read_new(self) -> list[Entry]:
        # redis-py types the reply loosely (sync/async union); it is [[stream, [(id, {field: value})]]].
        answer: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch_size, block=self.block_ms
        )
        return [(_text(i), f) for _stream, items in answer or [] for i, f in items]

    def _deliveries(self, ids: list[str]) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        for event_id in ids:
            pipe.xpending_range(self.stream, self.group, event_id, event_id, 1)
        counts = {}
        for event_id, found in zip(ids, pipe.execute(), strict=True):
            if found:
                counts[event_id] = int(found[0]["times_delivered"])
        return counts

    def _dead_letter(self, letters: list[tuple[str, dict[bytes, bytes], str]]) -> None:
        """Move events to the dead-letter stream with their reason and original fields, acknowledging them."""
        pipe = self.client.pipeline(transaction=True)
        for event_id, fields, reason in letters:
            original: dict[Any, Any] = {
                (f"original_{_text(k)}" if _text(k) in ("source_id", "reason") else _text(k)): v
                for k, v in fields.items()
            }
            pipe.xadd(self.dead_letter, {"source_id": event_id, "reason": reason, **original})
        pipe.xack(self.stream, self.group, *[i for i, _, _ in letters])
        pipe.execute()

    def ack(self, batch: MicroBatch) -> int:
        """Acknowledge the batch's delivered events (rejected ones were dead-lettered when read)."""
        return int(self.client.xack(self.stream, self.group, *batch.ids)) if batch.ids else 0

    def micro_batches(self, max_batches: int | None = None) -> Iterator[MicroBatch]:
        """Yield non-empty batches until an empty read (or ``max_batches``); each is acked after the caller resumes."""
        self.ensure_group()
        produced = 0
        while max_batches is None or produced < max_batches:
            batch = self.read_batch()
            if not len(batch) and not batch.rejected:
                return
            yield batch
            self.ack(batch)
            produced += 1

    def pending(self) -> int:
        """Events delivered to the group but not acknowledged."""
        return int(self.client.xpending(self.stream, self.group)["pending"])

    def delete(self) -> None:
        """Remove the stream, its groups and its dead letters."""
        self.client.delete(self.stream, self.dead_letter)

    def close(self) -> None:
        self.client.close()

"""Trip events on a Redis Stream, read by a consumer group into micro-batches (at-least-once).

Events are ``XADD``-ed with one field, ``trip`` (JSON). A consumer reads with
``XREADGROUP`` up to ``batch_size`` events or until ``block_ms`` passes, hands the
micro-batch over, and ``XACK``s it only after it was handled: a consumer that dies
mid-batch leaves the events pending for redelivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import redis

from tripcast.data_engineering.streaming.events import MicroBatch, decode_batch, encode_event

FIELD = b"trip"


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
    ) -> None:
        self.client = redis.Redis.from_url(url)
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.service = service
        self.batch_size = batch_size
        self.block_ms = block_ms

    def ensure_group(self) -> None:
        """Create the stream and the consumer group (reading from the beginning) if missing."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, trips: Iterable[Mapping[str, Any]]) -> int:
        """Append trips as events (pipelined); return how many."""
        pipe = self.client.pipeline(transaction=False)
        n = 0
        for trip in trips:
            pipe.xadd(self.stream, {FIELD: encode_event(trip)})
            n += 1
        pipe.execute()
        return n

    def read_batch(self) -> MicroBatch:
        """The next micro-batch for this consumer (empty when nothing arrived within ``block_ms``)."""
        # redis-py types the reply loosely (sync/async union); it is [[stream, [(id, {field: value})]]].
        answer: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch_size, block=self.block_ms
        )
        events: list[tuple[str, bytes]] = []
        for _stream, entries in answer or []:
            for event_id, fields in entries:
                events.append((event_id.decode(), fields.get(FIELD, b"")))
        return decode_batch(events, self.service)

    def ack(self, batch: MicroBatch) -> int:
        """Acknowledge every event of the batch, rejected ones included (they are reported, not retried)."""
        ids = batch.ids + [eid for eid, _ in batch.rejected]
        return int(self.client.xack(self.stream, self.group, *ids)) if ids else 0

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
        """Remove the stream and its groups."""
        self.client.delete(self.stream)

    def close(self) -> None:
        self.client.close()

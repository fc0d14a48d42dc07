"""Trip events on NATS JetStream, pulled by a durable consumer into micro-batches (at-least-once).

A pull subscription fetches up to ``batch_size`` messages (or what arrived within
``timeout``); messages are acked after the batch is handled, so unacked ones are
redelivered after ``ack_wait``.

A message that cannot become a trip, or that was delivered more than ``max_deliveries`` times
(it keeps killing its consumers), is published to the dead-letter subject (default
``<subject>.dead``, kept in the stream ``<stream>_DEAD``) with its reason in the
``Tripcast-Reason`` header, then terminated (``term``): JetStream never redelivers it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from tripcast.data_engineering.streaming.events import MicroBatch, decode_batch, encode_event


class NatsTripStream:
    """A JetStream stream bound to one subject and a durable pull consumer. Use as ``async with``."""

    def __init__(
        self,
        servers: str,
        stream: str,
        subject: str,
        durable: str = "tripcast",
        *,
        service: str = "green",
        batch_size: int = 500,
        timeout: float = 1.0,
        dead_letter_subject: str | None = None,
        max_deliveries: int = 5,
    ) -> None:
        self.servers = servers
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.service = service
        self.batch_size = batch_size
        self.timeout = timeout
        self.dead_letter_subject = dead_letter_subject or f"{subject}.dead"
        self.dead_letter_stream = f"{stream}_DEAD"
        self.max_deliveries = max_deliveries
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._unacked: dict[str, Any] = {}

    async def __aenter__(self) -> NatsTripStream:
        self._nc = await nats.connect(self.servers, connect_timeout=5, max_reconnect_attempts=2)
        self._js = self._nc.jetstream()
        for name, subject in ((self.stream, self.subject), (self.dead_letter_stream, self.dead_letter_subject)):
            try:
                await self._js.stream_info(name)
            except NotFoundError:
                await self._js.add_stream(StreamConfig(name=name, subjects=[subject]))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        await self._nc.drain()

    async def publish(self, trips: Iterable[Mapping[str, Any]]) -> int:
        """Publish trips with JetStream acknowledgements (each publish is persisted before returning)."""
        n = 0
        for trip in trips:
            await self._js.publish(self.subject, encode_event(trip))
            n += 1
        return n

    async def read_batch(self) -> MicroBatch:
        """The next micro-batch (empty when nothing arrived within ``timeout``).

        Messages that cannot become trips, or keep coming back, are dead-lettered and terminated here;
        they are still listed in ``rejected``.
        """
        if self._sub is None:
            self._sub = await self._js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream)
        try:
            messages = await self._sub.fetch(self.batch_size, timeout=self.timeout)
        except (NatsTimeoutError, TimeoutError):  # nats-py also raises a bare asyncio timeout from fetch()
            messages = []
        events = []
        too_often: list[tuple[str, str]] = []
        for msg in messages:
            event_id = str(msg.metadata.sequence.stream)
            self._unacked[event_id] = msg
            delivered = int(msg.metadata.num_delivered or 1)
            if delivered > self.max_deliveries:
                too_often.append((event_id, f"delivered {delivered} times without being handled"))
            else:
                events.append((event_id, msg.data))
        batch = decode_batch(events, self.service)
        batch.rejected = too_often + batch.rejected
        for event_id, reason in batch.rejected:
            await self._dead_letter(event_id, reason)
        return batch

    async def _dead_letter(self, event_id: str, reason: str) -> None:
        msg = self._unacked.pop(event_id, None)
        if msg is None:
            return
        headers = {"Tripcast-Reason": reason.replace("\r", " ").replace("\n", " "), "Tripcast-Source-Seq": event_id}
        await self._js.publish(self.dead_letter_subject, msg.data, headers=headers)
        await msg.term()  # persisted as a dead letter first: now JetStream must never redeliver it

    async def ack(self, batch: MicroBatch) -> int:
        """Acknowledge the batch's delivered messages (rejected ones were dead-lettered when read)."""
        n = 0
        for event_id in batch.ids:
            msg = self._unacked.pop(event_id, None)
            if msg is not None:
                await msg.ack()
                n += 1
        return n

    async def micro_batches(self, max_batches: int | None = None) -> AsyncIterator[MicroBatch]:
        """Yield non-empty batches until an empty fetch; each is acked when the caller asks for the next."""
        produced = 0
        while max_batches is None or produced < max_batches:
            batch = await self.read_batch()
            if not len(batch) and not batch.rejected:
                return
            yield batch
            await self.ack(batch)
            produced += 1

    async def delete(self) -> None:
        """Delete the stream (and with it the consumer) and its dead letters."""
        await self._js.delete_stream(self.stream)
        await self._js.delete_stream(self.dead_letter_stream)

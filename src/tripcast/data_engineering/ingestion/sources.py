"""The ingestion sources behind ``tripcast ingest --from postgres|rest|redis|nats`` (the ``IngestSource`` port).

Each wraps one of the adapters (:class:`SqlTripSource`, :class:`RestTripSource`, :class:`RedisTripStream`,
:class:`NatsTripStream`) and reads in batches; the at-least-once ones (streams, watermarked tables) are
acknowledged only by :meth:`acknowledge`, after the landing files are in place.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import nats.errors
import redis
import sqlalchemy.exc

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, SourceUnavailableError
from tripcast.core.domain.month import Month
from tripcast.core.ports.ingest import RejectedRecord, SourceBatch
from tripcast.data_engineering.ingestion.database import SqlTripSource, Watermark, WatermarkStore
from tripcast.data_engineering.ingestion.records import records_to_trips
from tripcast.data_engineering.ingestion.rest import RestTripSource
from tripcast.data_engineering.streaming.events import MicroBatch
from tripcast.data_engineering.streaming.nats_jetstream import NatsTripStream
from tripcast.data_engineering.streaming.redis_stream import RedisTripStream


def _month_required(month: Month | None, source: str) -> Month:
    if month is None:
        raise InvalidInputError([FieldProblem("month", f"--from {source} reads one month at a time: give --month")])
    return month


#: Failures to read the source, not of its data: it is down, unreachable, refuses us, or has no such table.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.ProgrammingError,  # no such table or column, a query that does not parse
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    ConnectionError,
    TimeoutError,
)


@contextmanager
def unavailable_as_error(label: str) -> Iterator[None]:
    """Turn a connection failure into :class:`SourceUnavailableError` naming the source (no traceback)."""
    try:
        yield
    except _CONNECTION_ERRORS as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceUnavailableError(f"cannot read {label}: {type(exc).__name__}: {detail[:300]}") from exc


def _batch(micro: MicroBatch) -> SourceBatch:
    rejected = tuple(RejectedRecord(event_id, reason) for event_id, reason in micro.rejected)
    return SourceBatch(micro.trips, len(micro.trips), rejected)


class _Source:
    """What every source shares: its label, and connection failures reported as one clear error."""

    label: str

    def describe(self) -> str:
        """The source, credentials masked."""
        return self.label

    def batches(self, month: Month | None) -> Iterator[SourceBatch]:
        """The source's batches until exhausted; a connection failure is a :class:`SourceUnavailableError`."""
        with unavailable_as_error(self.label):
            yield from self._batches(month)

    def acknowledge(self) -> None:
        """Everything read has landed: acknowledge it at the source."""
        with unavailable_as_error(self.label):
            self._acknowledge()

    def _batches(self, month: Month | None) -> Iterator[SourceBatch]:
        raise NotImplementedError

    def _acknowledge(self) -> None:
        """Nothing to acknowledge unless a source says otherwise."""


class _StagedWatermarks(WatermarkStore):
    """Positions advanced in memory while batches are read; written to the real store on :meth:`publish`."""

    def __init__(self, store: WatermarkStore) -> None:
        super().__init__(store.path)
        self.store = store
        self.staged: dict[str, Watermark] = {}

    def position(self, name: str) -> Watermark | None:
        return self.staged[name] if name in self.staged else self.store.position(name)

    def set_position(self, name: str, position: Watermark) -> None:
        self.staged[name] = position

    def publish(self) -> None:
        for name, position in self.staged.items():
            self.store.set_position(name, position)
        self.staged.clear()


class PostgresIngestSource(_Source):
    """A table or query: one month by its timestamp column, or (with a watermark column) every row not yet
    pulled, ``batch_size`` rows at a time, the watermark advanced only once they landed."""

    def __init__(
        self,
        source: SqlTripSource,
        label: str,
        *,
        watermarks: WatermarkStore,
        watermark_column: str | None = None,
        key_column: str | None = None,
        batch_size: int = 50_000,
    ) -> None:
        self.source = source
        self.label = label
        self.watermarks = _StagedWatermarks(watermarks)
        self.watermark_column = watermark_column
        self.key_column = key_column
        self.batch_size = batch_size

    def _batches(self, month: Month | None) -> Iterator[SourceBatch]:
        if self.watermark_column is None:
            wanted = _month_required(month, "postgres without --watermark-column")
            for trips in self.source.load_batches(wanted, self.batch_size):
                yield SourceBatch(trips, len(trips))
            return
        while True:
            batch = self.source.load_incremental(
                self.watermarks, self.watermark_column, key_column=self.key_column, limit=self.batch_size
            )
            if not len(batch.trips):
                return
            batch.commit()  # staged in memory; published by acknowledge()
            yield SourceBatch(batch.trips, len(batch.trips))

    def _acknowledge(self) -> None:
        self.watermarks.publish()

    def close(self) -> None:
        self.source.close()


class RestIngestSource(_Source):
    """A paginated JSON API, one page per batch."""

    def __init__(self, source: RestTripSource, label: str) -> None:
        self.source = source
        self.label = label

    def _batches(self, month: Month | None) -> Iterator[SourceBatch]:
        for page in self.source.pages(_month_required(month, "rest")):
            trips = records_to_trips(page, self.source.service)
            yield SourceBatch(trips, len(trips))

    def close(self) -> None:
        self.source.close()


class _StreamSource(_Source):
    """A stream drained until a read comes back empty; what was delivered is acked only after it has landed."""

    def __init__(self) -> None:
        self._delivered: list[MicroBatch] = []

    def _read(self) -> MicroBatch:
        raise NotImplementedError

    def _ack(self, micro: MicroBatch) -> None:
        raise NotImplementedError

    def _batches(self, month: Month | None) -> Iterator[SourceBatch]:
        while True:
            micro = self._read()
            if not len(micro) and not micro.rejected:
                return
            self._delivered.append(micro)
            yield _batch(micro)

    def _acknowledge(self) -> None:
        for micro in self._delivered:
            self._ack(micro)
        self._delivered.clear()


class RedisIngestSource(_StreamSource):
    """A Redis Stream read by a consumer group until it is drained; events are acked after landing."""

    def __init__(self, stream: RedisTripStream, label: str) -> None:
        super().__init__()
        self.stream = stream
        self.label = label

    def _batches(self, month: Month | None) -> Iterator[SourceBatch]:
        self.stream.ensure_group()
        yield from super()._batches(month)

    def _read(self) -> MicroBatch:
        return self.stream.read_batch()

    def _ack(self, micro: MicroBatch) -> None:
        self.stream.ack(micro)

    def close(self) -> None:
        self.stream.close()


class NatsIngestSource(_StreamSource):
    """A JetStream durable pull consumer drained until a fetch comes back empty; acked after landing."""

    def __init__(self, stream: NatsTripStream, label: str) -> None:
        super().__init__()
        self.stream = stream
        self.label = label
        self._runner: asyncio.Runner | None = None
        self._connected = False

    def _run(self, step: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run one step of the async client on this source's event loop, connecting on first use (the step's
        coroutine is created only once connected: a failed connect leaves none un-awaited)."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        if not self._connected:
            self._runner.run(self.stream.__aenter__())
            self._connected = True
        return self._runner.run(step())

    def _read(self) -> MicroBatch:
        micro: MicroBatch = self._run(self.stream.read_batch)
        return micro

    def _ack(self, micro: MicroBatch) -> None:
        self._run(functools.partial(self.stream.ack, micro))

    def close(self) -> None:
        if self._runner is not None:
            if self._connected:
                self._runner.run(self.stream.__aexit__(None, None, None))
            self._runner.close()
            self._runner = None

"""A Redis Streams consumer-group scorer with at-least-once delivery, exactly-once output, and nothing lost.

Each round first takes back entries left unacknowledged: its own after a reconnect (or a restart under the
same consumer name), then entries another consumer read but never acknowledged for ``claim_idle_ms``
(crashed or stuck). Those are claimed and committed *one at a time*: an event that kills its consumer
outright (a segfault, an OOM kill) only raises its own delivery count, so once it was delivered more
than ``max_deliveries`` times it alone is dead-lettered, never the batch it arrived with. Then new
entries are read in batches (``XREADGROUP``).

Every per-event failure (malformed event, a value that cannot be converted, a model that raises or returns
a non-finite number for it) dead-letters that event alone, with its reason and its original fields; the
rest of the batch is scored. Predictions, dead letters and the ``XACK`` are committed by one server-side
script that writes an entry's outcome only while the entry is still pending on this consumer: a consumer
that dies before committing leaves its entries for another, and a slow one whose entries were reclaimed
meanwhile writes nothing twice. Lost connections (Redis restarting) are retried with capped exponential
backoff; the entries of an interrupted commit are taken back from this consumer's own pending list.

Each handled batch is a span. Events published under a trace carry its W3C ``traceparent``: when a batch's
events come from one trace, the batch's span is a child of the producer's span (the trace continues in the
consumer); events from several traces are linked to the batch's span instead.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import extract

from tripcast.core.domain.errors import InvalidInputError, ModelNotLoadedError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction
from tripcast.mlops.serving.streaming.events import parse_trip_event

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("tripcast.serving")

Entry = tuple[str, dict[bytes, bytes]]
#: Longest reason kept in a dead letter (a 400-digit value should not make a 400-digit reason).
MAX_REASON_CHARS = 300

# KEYS: input, output, dead letters. ARGV: group, consumer, output maxlen, JSON list of outcomes
# ({"id", "dead": bool, "fields": [k, v, ...]}). An outcome is written (and its entry acknowledged) only
# while the entry is pending on this consumer; returns a 0/1 flag per outcome.
_COMMIT = """
local outcomes = cjson.decode(ARGV[4])
local done = {}
for i, item in ipairs(outcomes) do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], item.id, item.id, 1)
  if pending[1] ~= nil and pending[1][2] == ARGV[2] then
    if item.dead then
      redis.call('XADD', KEYS[3], '*', unpack(item.fields))
    else
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(item.fields))
    end
    redis.call('XACK', KEYS[1], ARGV[1], item.id)
    done[i] = 1
  else
    done[i] = 0
  end
end
return done
"""


@dataclass(frozen=True, slots=True)
class StreamNames:
    """The streams and consumer group one scorer works with."""

    input: str
    output: str
    dead_letter: str
    group: str = "tripcast-scorers"


@dataclass(slots=True)
class BatchOutcome:
    """What one round (or a whole run) did."""

    scored: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return self.scored + self.dead_lettered

    def add(self, other: BatchOutcome) -> None:
        """Fold another outcome into this one."""
        self.scored += other.scored
        self.dead_lettered += other.dead_lettered
        self.reclaimed += other.reclaimed
        for key, count in other.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + count


@dataclass(slots=True)
class _Outcome:
    entry_id: str
    fields: dict[bytes, bytes]
    request: TripRequest | None = None
    minutes: float | None = None
    reason: str | None = None
    model: tuple[str, str] = ("", "")


def _log_id(outcome: _Outcome) -> str:
    """The prediction log's request id of an event: ``stream:<entry id>`` (a redelivery logs it once)."""
    return f"stream:{outcome.entry_id}"


def _id(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _reason(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


class StreamScorer:
    """Scores trip events from ``names.input`` into ``names.output`` as consumer ``consumer``."""

    def __init__(
        self,
        client: redis.Redis,
        names: StreamNames,
        prediction: Prediction,
        *,
        consumer: str,
        batch_size: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        output_maxlen: int = 1_000_000,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.client = client
        self.names = names
        self.prediction = prediction
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.output_maxlen = output_maxlen
        self.max_backoff_seconds = max_backoff_seconds
        self._commit = client.register_script(_COMMIT)
        self._check_own_pending = True  # a restarted consumer of the same name finishes its own work first

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

    def process_once(self, block_ms: int | None = None) -> BatchOutcome:
        """Take back unacknowledged entries one by one, else read and handle a batch of new ones."""
        outcome = self.reclaim()
        if outcome.reclaimed:
            return outcome
        return self.handle(self.read_new(block_ms))

    def reclaim(self) -> BatchOutcome:
        """Claim and handle, each on its own, up to ``batch_size`` entries left unacknowledged.

        This consumer's own pending entries come first (after a lost connection or a restart), then
        entries idle for ``claim_idle_ms`` on any consumer. ``XCLAIM`` with that minimum idle time is
        what makes two rescuers never take the same entry.
        """
        outcome = BatchOutcome()
        own = self._check_own_pending
        candidates = self._pending(own)
        if own and not candidates:
            self._check_own_pending = False
            candidates = self._pending(False)
        for candidate in candidates:
            entry_id = _id(candidate["message_id"])
            claimed: Any = self.client.xclaim(
                self.names.input,
                self.names.group,
                self.consumer,
                min_idle_time=0 if own else self.claim_idle_ms,
                message_ids=[entry_id],
            )
            # Nothing comes back when another consumer took it first, or when it was deleted from the stream.
            entries = [(_id(i), f) for i, f in claimed or [] if f]
            if not entries:
                continue
            deliveries = {entry_id: int(candidate["times_delivered"]) + 1}
            single = self.handle(entries, deliveries=deliveries)
            single.reclaimed = 1
            outcome.add(single)
        return outcome

    def _pending(self, own: bool) -> list[dict[str, Any]]:
        if own:
            found = self.client.xpending_range(
                self.names.input, self.names.group, "-", "+", self.batch_size, consumername=self.consumer
            )
        else:
            found = self.client.xpending_range(
                self.names.input, self.names.group, "-", "+", self.batch_size, idle=self.claim_idle_ms
            )
        return list(found or [])

    def handle(
        self, entries: Sequence[Entry], *, deliveries: dict[str, int] | None = None, reclaimed: bool = False
    ) -> BatchOutcome:
        """Score valid events, dead-letter each failing one alone, and commit what is still ours.

        ``deliveries`` (entry id -> times delivered) marks entries that keep coming back; one delivered more
        than ``max_deliveries`` times is dead-lettered without being scored again.
        """
        if not entries:
            return BatchOutcome()  # an idle round: no span either
        if reclaimed and deliveries is None:
            deliveries = self._deliveries([i for i, _ in entries])
        parent, links = producer_context(entries)
        attributes: dict[str, str | int] = {"messaging.system": "redis", "messaging.batch.message_count": len(entries)}
        with _tracer.start_as_current_span(
            "tripcast.stream.score", context=parent, links=links, kind=trace.SpanKind.CONSUMER, attributes=attributes
        ):
            outcomes = [
                self._parse(entry_id, fields, (deliveries or {}).get(entry_id, 0)) for entry_id, fields in entries
            ]
            self._predict([o for o in outcomes if o.reason is None])
            return self._commit_outcomes(outcomes)

    def _parse(self, entry_id: str, fields: dict[bytes, bytes], delivered: int) -> _Outcome:
        outcome = _Outcome(entry_id, fields)
        if delivered > self.max_deliveries:
            outcome.reason = f"delivered {delivered} times without being scored"
            return outcome
        try:
            outcome.request = parse_trip_event(fields)
        except InvalidInputError as exc:
            outcome.reason = _reason(str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever one event does, it must not stop the stream
            outcome.reason = _reason(f"unreadable event: {type(exc).__name__}: {exc}")
        return outcome

    def _predict(self, valid: list[_Outcome]) -> None:
        """Minutes for each valid outcome; an event the model fails on is marked with the reason, alone.

        No model served yet is not the events' fault: that error propagates and nothing is dead-lettered.
        """
        if not valid:
            return
        try:
            scored = [o for o in valid if o.request]  # the event id is the request id outcomes join on later
            served = self.prediction.predict([o.request for o in scored if o.request], [_log_id(o) for o in scored])
            if len(served.minutes) != len(valid):
                raise ValueError(f"model returned {len(served.minutes)} predictions for {len(valid)} trips")
        except ModelNotLoadedError:
            raise
        except Exception as exc:  # noqa: BLE001 - find the event at fault by scoring each on its own
            log.warning("batch of %d failed to score (%s: %s); scoring one by one", len(valid), type(exc).__name__, exc)
            for outcome in valid:
                self._predict_one(outcome)
            return
        for outcome, value in zip(valid, served.minutes, strict=True):
            self._settle(outcome, value, (served.model.name, served.model.number))

    def _predict_one(self, outcome: _Outcome) -> None:
        assert outcome.request is not None
        try:
            served = self.prediction.predict([outcome.request], [_log_id(outcome)])
        except ModelNotLoadedError:
            raise
        except Exception as exc:  # noqa: BLE001 - this event alone is dead-lettered with the reason
            outcome.reason = _reason(f"prediction failed: {type(exc).__name__}: {exc}")
            return
        self._settle(outcome, served.minutes[0], (served.model.name, served.model.number))

    @staticmethod
    def _settle(outcome: _Outcome, value: float, model: tuple[str, str]) -> None:
        if not math.isfinite(value):
            outcome.reason = f"prediction failed: model returned {value!r}"
            return
        outcome.minutes = value
        outcome.model = model

    def _commit_outcomes(self, outcomes: list[_Outcome]) -> BatchOutcome:
        result = BatchOutcome()
        if not outcomes:
            return result
        payload = [self._record(o) for o in outcomes]
        keys = [self.names.input, self.names.output, self.names.dead_letter]
        args: list[str | int] = [self.names.group, self.consumer, self.output_maxlen, json.dumps(payload)]
        flags = self._commit(keys=keys, args=args)
        for outcome, written in zip(outcomes, flags, strict=True):
            if not int(written):
                log.info("entry %s was reclaimed by another consumer; its outcome is theirs", outcome.entry_id)
            elif outcome.reason is None:
                result.scored += 1
            else:
                result.dead_lettered += 1
                key = outcome.reason.split(":", 1)[0]
                result.reasons[key] = result.reasons.get(key, 0) + 1
        return result

    def _record(self, outcome: _Outcome) -> dict[str, Any]:
        if outcome.reason is None:
            model_name, model_version = outcome.model
            fields: dict[str, str] = {
                "source_id": outcome.entry_id,
                "minutes": repr(outcome.minutes),
                "model_name": model_name,
                "model_version": str(model_version),
            }
        else:
            fields = {"source_id": outcome.entry_id, "reason": outcome.reason, **_as_text(outcome.fields)}
        flat = [part for pair in fields.items() for part in pair]
        return {"id": outcome.entry_id, "dead": outcome.reason is not None, "fields": flat}

    def _deliveries(self, ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry_id in ids:
            found = self.client.xpending_range(self.names.input, self.names.group, entry_id, entry_id, 1)
            if found:
                counts[entry_id] = int(found[0]["times_delivered"])
        return counts

    def run(self, stop: threading.Event, *, idle_rounds: int | None = None) -> BatchOutcome:
        """Process until ``stop`` is set (or ``idle_rounds`` rounds in a row found nothing); totals.

        A lost connection is retried with exponential backoff (capped at ``max_backoff_seconds``); the
        entries of a batch whose commit was interrupted are then taken back from this consumer's own
        pending list, so they are neither lost nor written twice.
        """
        total = BatchOutcome()
        idle = 0
        failures = 0
        ready = False
        while not stop.is_set():
            try:
                if not ready:
                    self.ensure_group()
                    ready = True
                outcome = self.process_once()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                failures += 1
                delay = min(self.max_backoff_seconds, 0.1 * 2 ** min(failures, 10))
                log.warning("redis unavailable (%s); retrying in %.1f s", exc, delay)
                self._check_own_pending = True
                ready = False  # a Redis restarted without persistence has lost the group: create it again
                stop.wait(delay)
                continue
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("consumer group %s is gone (Redis lost its data?); creating it again", self.names.group)
                ready = False
                continue
            failures = 0
            total.add(outcome)
            idle = 0 if outcome.handled or outcome.reclaimed else idle + 1
            if idle_rounds is not None and idle >= idle_rounds:
                break
        return total


#: Event fields of the W3C trace context a producer adds (``RedisTripStream.publish``).
TRACE_FIELDS = (b"traceparent", b"tracestate")


def producer_context(entries: Sequence[Entry]) -> tuple[Context | None, list[trace.Link]]:
    """The producers' trace contexts of ``entries``: (the parent, when they all share one trace; else links)."""
    found: dict[int, tuple[Context, trace.SpanContext]] = {}
    for _, fields in entries:
        if b"traceparent" not in fields:
            continue
        carrier = {key.decode(): fields[key].decode(errors="replace") for key in TRACE_FIELDS if key in fields}
        context = extract(carrier)
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            found.setdefault(span_context.trace_id, (context, span_context))
    if len(found) == 1:
        [(context, _)] = found.values()
        return context, []
    return None, [trace.Link(span_context) for _, span_context in found.values()]


def _as_text(fields: dict[bytes, bytes]) -> dict[str, str]:
    out = {}
    for key, value in fields.items():
        name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
        if name in ("source_id", "reason"):
            name = f"original_{name}"
        out[name] = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return out

"""W3C trace context through Redis Streams (real Redis): a streamed trip's trace continues in the consumer.

The producer (``RedisTripStream.publish``) writes the active span's ``traceparent`` into each event; the
stream scorer's batch span becomes that span's child (one producer trace) or links to each (several). The
spans are recorded by an in-memory exporter on a provider of the test's own (the process's global provider
is left alone).
"""

from __future__ import annotations

import json
import threading

import pytest
import redis
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_serving_redis_streams import TRIP, DistancePredictor, names

from support.fakes_serving import predicting_with
from tripcast.data_engineering.streaming.redis_stream import RedisTripStream
from tripcast.mlops.serving.streaming import StreamScorer, redis_scorer


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(redis_scorer, "_tracer", provider.get_tracer("tripcast.serving"))
    return provider.get_tracer("producer"), exporter


def _score(redis_url: str, prefix: str) -> tuple[redis.Redis, int]:
    client = redis.Redis.from_url(redis_url)
    scorer = StreamScorer(client, names(prefix), predicting_with(DistancePredictor), consumer="a", block_ms=50)
    scorer.ensure_group()
    return client, scorer.run(threading.Event(), idle_rounds=1).scored


def test_the_consumer_span_continues_the_producer_trace(
    redis_url: str, redis_prefix: str, recorded: tuple[trace.Tracer, InMemorySpanExporter]
) -> None:
    tracer, exporter = recorded
    streams = names(redis_prefix)
    producer = RedisTripStream(redis_url, streams.input)
    with tracer.start_as_current_span("publish trips") as published:
        assert producer.publish([TRIP, {**TRIP, "trip_distance": 3.0}]) == 2
    producer.close()
    client, scored = _score(redis_url, redis_prefix)
    assert scored == 2
    events = client.xrange(streams.input)
    parent = published.get_span_context()
    assert {f[b"traceparent"].decode() for _, f in events} == {
        f"00-{parent.trace_id:032x}-{parent.span_id:016x}-{parent.trace_flags:02x}"
    }
    assert [float(f[b"minutes"]) for _, f in client.xrange(streams.output)] == [12.0, 13.0]
    [batch] = [s for s in exporter.get_finished_spans() if s.name == "tripcast.stream.score"]
    assert batch.context.trace_id == parent.trace_id  # the same trace, one hop further
    assert batch.parent is not None and batch.parent.span_id == parent.span_id
    assert batch.kind == trace.SpanKind.CONSUMER and batch.attributes["messaging.batch.message_count"] == 2
    client.close()


def test_a_batch_from_several_traces_links_to_each_and_untraced_events_score_alike(
    redis_url: str, redis_prefix: str, recorded: tuple[trace.Tracer, InMemorySpanExporter]
) -> None:
    tracer, exporter = recorded
    streams = names(redis_prefix)
    producer = RedisTripStream(redis_url, streams.input)
    contexts = []
    for distance in (1.0, 2.0):
        with tracer.start_as_current_span("publish") as span:
            producer.publish([{**TRIP, "trip_distance": distance}])
            contexts.append(span.get_span_context())
    producer.publish([{**TRIP, "trip_distance": 4.0}])  # no active span: no traceparent field
    producer.close()
    client, scored = _score(redis_url, redis_prefix)
    assert scored == 3
    assert [b"traceparent" in f for _, f in client.xrange(streams.input)] == [True, True, False]
    [batch] = [s for s in exporter.get_finished_spans() if s.name == "tripcast.stream.score"]
    assert batch.parent is None
    assert {link.context.span_id for link in batch.links} == {c.span_id for c in contexts}
    assert json.loads(client.xrange(streams.output)[2][1][b"minutes"]) == 14.0
    client.close()

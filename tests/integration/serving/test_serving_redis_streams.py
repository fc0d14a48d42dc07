"""Streaming scoring on the real Redis: dead letters, and a killed consumer's batch reclaimed by another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from support.fakes_serving import predicting_with
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor
from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


TESTS = str(Path(__file__).resolve().parents[2])


class DistancePredictor(Predictor):
    """minutes = 10 + distance: known answers for every event."""

    model_name = "trip-duration"
    model_version = "7"

    def predict_features(self, features: Any) -> Any:
        return [10.0 + float(row[0]) for row in features]

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        return [10.0 + r.trip_distance for r in requests]


def names(prefix: str) -> StreamNames:
    return StreamNames(input=f"{prefix}in", output=f"{prefix}out", dead_letter=f"{prefix}dlq", group="scorers")


def test_scores_and_dead_letters_with_reasons(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = names(redis_prefix)
    scorer = StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="a", block_ms=50)
    scorer.ensure_group()
    good = [client.xadd(streams.input, {"trip": json.dumps({**TRIP, "trip_distance": d})}) for d in (1, 2.5)]
    client.xadd(streams.input, {"trip": "{broken"})
    client.xadd(streams.input, {"trip": json.dumps({**TRIP, "pickup_zone": 0})})
    client.xadd(streams.input, {"other": "x"})
    total = scorer.run(threading.Event(), idle_rounds=1)
    assert (total.scored, total.dead_lettered) == (2, 3)
    out = client.xrange(streams.output)
    assert [f[b"source_id"] for _, f in out] == good
    assert [float(f[b"minutes"]) for _, f in out] == [11.0, 12.5]
    assert {f[b"model_version"] for _, f in out} == {b"7"}
    reasons = [f[b"reason"].decode() for _, f in client.xrange(streams.dead_letter)]
    assert "malformed JSON" in reasons[0] and "pickup_zone" in reasons[1] and "no 'trip' field" in reasons[2]
    assert client.xpending(streams.input, streams.group)["pending"] == 0
    client.close()


CRASHING_CONSUMER = textwrap.dedent(
    """
    import sys, time, redis
    from support.fakes_serving import predicting_with
    from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

    class HangingPredictor:
        model_name, model_version = "trip-duration", "7"
        def predict_trips(self, requests):
            print("READ", len(requests), flush=True)
            time.sleep(120)  # killed here: after reading its batch, before acknowledging it

    url, prefix = sys.argv[1], sys.argv[2]
    names = StreamNames(f"{prefix}in", f"{prefix}out", f"{prefix}dlq", "scorers")
    hanging = predicting_with(HangingPredictor)
    scorer = StreamScorer(redis.Redis.from_url(url), names, hanging, consumer="doomed", batch_size=30)
    scorer.ensure_group()
    scorer.process_once(block_ms=100)
    """
)


def test_killed_consumer_loses_nothing(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = names(redis_prefix)
    StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="setup").ensure_group()
    sent = [client.xadd(streams.input, {"trip": json.dumps({**TRIP, "trip_distance": i / 10})}) for i in range(50)]
    script = tmp_path / "doomed.py"
    script.write_text(CRASHING_CONSUMER)
    doomed = subprocess.Popen(
        [sys.executable, str(script), redis_url, redis_prefix],
        # The tests folder on the path: the script imports its fake from tests/support.
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
            ),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = doomed.stdout.readline() if doomed.stdout else ""
        assert line.strip() == "READ 30", (line, doomed.stderr.read() if doomed.stderr else "")
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        doomed.wait(10)
    pending = client.xpending(streams.input, streams.group)
    assert pending["pending"] == 30 and {c["name"] for c in pending["consumers"]} == {b"doomed"}
    assert client.xlen(streams.output) == 0

    rescuer = StreamScorer(
        client, streams, predicting_with(DistancePredictor), consumer="rescuer", block_ms=50, claim_idle_ms=0
    )
    total = rescuer.run(threading.Event(), idle_rounds=2)
    assert total.reclaimed == 30 and total.scored == 50 and total.dead_lettered == 0
    scored_ids = sorted(f[b"source_id"] for _, f in client.xrange(streams.output))
    assert scored_ids == sorted(sent)  # every event scored exactly once
    assert client.xpending(streams.input, streams.group)["pending"] == 0
    client.close()


def test_entry_that_keeps_failing_is_dead_lettered(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = names(redis_prefix)
    scorer = StreamScorer(
        client,
        streams,
        predicting_with(DistancePredictor),
        consumer="a",
        claim_idle_ms=0,
        max_deliveries=2,
        block_ms=50,
    )
    scorer.ensure_group()
    entry = client.xadd(streams.input, {"trip": json.dumps(TRIP)})
    # Delivered, then claimed twice by consumers that all crashed on it without acknowledging.
    client.xreadgroup(streams.group, "crasher", {streams.input: ">"}, count=1)
    for _ in range(2):
        client.xclaim(streams.input, streams.group, "crasher", 0, [entry])
    outcome = scorer.process_once(block_ms=50)
    assert outcome.dead_lettered == 1 and outcome.scored == 0
    ((_, fields),) = client.xrange(streams.dead_letter)
    assert b"delivered" in fields[b"reason"] and fields[b"source_id"] == entry
    client.close()

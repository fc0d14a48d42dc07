"""Faults on the streaming paths, against the real Redis: poison events, SIGKILLed consumers, Redis restarting.

Every check counts outputs by source id: nothing lost, nothing written twice, only the poison dead-lettered.
The Redis restart uses a private ``redis-server`` on a free port (the shared one on 6379 is never touched).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from support.fakes_serving import predicting_with
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor
from tripcast.data_engineering.streaming import RedisTripStream
from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}
#: JSON allows a 400-digit number; no float can hold it (``float()`` raises OverflowError).
HUGE = "9" * 400
SRC = str(Path(__file__).resolve().parents[2] / "src")


class DistancePredictor(Predictor):
    """minutes = 10 + distance; raises for a trip from zone 13 (a model failing on one input)."""

    model_name = "trip-duration"
    model_version = "7"

    def predict_features(self, features: Any) -> Any:
        return [10.0 + float(row[0]) for row in features]

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        if any(r.pickup_zone == 13 for r in requests):
            raise RuntimeError("model cannot score zone 13")
        return [10.0 + r.trip_distance for r in requests]


def _names(prefix: str) -> StreamNames:
    return StreamNames(input=f"{prefix}in", output=f"{prefix}out", dead_letter=f"{prefix}dlq", group="scorers")


def _event(**changes: Any) -> dict[str, str]:
    return {"trip": json.dumps({**TRIP, **changes})}


def _scored_ids(client: redis.Redis, stream: str) -> Counter[bytes]:
    return Counter(fields[b"source_id"] for _, fields in client.xrange(stream))


def _prerequisite_missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI")
    pytest.skip(f"{what} not available")


def _python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


def _env() -> dict[str, str]:
    # The tests folder too: the consumers' scripts import their fakes from tests/support.
    paths = [SRC, str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    # These consumers run with default settings (data dir under the current directory): keep the prediction
    # log (issue #13) from writing a database there.
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TRIPCAST_PREDICTION_LOG_ENABLED": "false"}


# ---------------------------------------------------------------------------------------------- poison events


def test_poison_event_in_scorer_is_dead_lettered_alone_with_its_reason_and_the_rest_scored(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = _names(redis_prefix)
    scorer = StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="a", block_ms=50)
    scorer.ensure_group()
    valid = [client.xadd(streams.input, _event(trip_distance=d)) for d in (1, 2)]
    poison = client.xadd(streams.input, {"trip": json.dumps(TRIP)[:-1] + f', "trip_distance": {HUGE}}}'})
    valid += [client.xadd(streams.input, _event(trip_distance=d)) for d in (3, 4, 5)]

    total = scorer.run(threading.Event(), idle_rounds=1)

    assert (total.scored, total.dead_lettered) == (5, 1)
    assert _scored_ids(client, streams.output) == Counter(valid)
    ((_, letter),) = client.xrange(streams.dead_letter)
    assert letter[b"source_id"] == poison and b"trip_distance" in letter[b"reason"]
    assert HUGE.encode() in letter[b"trip"]  # the original event travels with its reason
    assert client.xpending(streams.input, streams.group)["pending"] == 0
    client.close()


def test_event_the_model_fails_on_is_dead_lettered_alone_and_the_batch_scored(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = _names(redis_prefix)
    scorer = StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="a", block_ms=50)
    scorer.ensure_group()
    ids = [client.xadd(streams.input, _event(trip_distance=d)) for d in (1, 2, 3)]
    failing = client.xadd(streams.input, _event(pickup_zone=13))
    ids += [client.xadd(streams.input, _event(trip_distance=d)) for d in (4, 5)]

    total = scorer.run(threading.Event(), idle_rounds=1)

    assert (total.scored, total.dead_lettered) == (5, 1)
    assert _scored_ids(client, streams.output) == Counter(ids)
    ((_, letter),) = client.xrange(streams.dead_letter)
    assert letter[b"source_id"] == failing and letter[b"reason"].startswith(b"prediction failed: RuntimeError")
    client.close()


def test_poison_event_in_ingestion_consumer_is_dead_lettered_alone_and_the_rest_delivered(
    redis_url: str, redis_prefix: str
) -> None:
    stream = RedisTripStream(redis_url, f"{redis_prefix}trips", group="g", consumer="c", block_ms=50)
    record = {
        "PULocationID": 74,
        "DOLocationID": 75,
        "lpep_pickup_datetime": "2021-01-05T08:00:00",
        "lpep_dropoff_datetime": "2021-01-05T08:12:00",
        "trip_distance": 1.5,
    }
    try:
        stream.ensure_group()
        stream.publish([record, record])
        poison = stream.client.xadd(stream.stream, {b"trip": json.dumps(record)[:-1] + f', "fare_amount": {HUGE}}}'})
        stream.publish([record, record, record])

        batches = list(stream.micro_batches())

        assert sum(len(b) for b in batches) == 5
        assert all(batch.trips.trip_distance.tolist() == [1.5] * len(batch) for batch in batches)
        ((_, letter),) = stream.client.xrange(stream.dead_letter)
        assert letter[b"source_id"] == poison and b"OverflowError" in letter[b"reason"]
        assert HUGE.encode() in letter[b"trip"]
        assert stream.pending() == 0
    finally:
        stream.delete()
        stream.close()


STREAM_COMMAND = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])  # tests/, for support.serving_fakes
    from support.serving_fakes import FakeRegistry
    import tripcast.bootstrap
    from tripcast.settings import Settings

    registry = FakeRegistry()
    registry.add("1", alias="champion")
    # The real command, with the registry swapped for an in-memory one (no MLflow, no trained model needed).
    real_bootstrap = tripcast.bootstrap.bootstrap

    def bootstrap_with_fake_registry(*args, **kwargs):
        wired = real_bootstrap(Settings())
        wired.__dict__["registry"] = registry  # overrides the cached property
        return wired

    tripcast.bootstrap.bootstrap = bootstrap_with_fake_registry
    from tripcast.cli.app import app
    sys.argv = ["tripcast", "stream", *sys.argv[2:]]
    app()
    """
)


def test_tripcast_stream_command_keeps_running_past_a_poison_event_and_reports_it(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = _names(redis_prefix)
    valid = [client.xadd(streams.input, _event(trip_distance=d)) for d in (1, 2)]
    poison = client.xadd(streams.input, {"trip": json.dumps(TRIP)[:-1] + f', "trip_distance": {HUGE}}}'})
    valid += [client.xadd(streams.input, _event(trip_distance=d)) for d in (3, 4, 5)]
    tests_dir = str(Path(__file__).resolve().parents[1])
    args = ["--input", streams.input, "--output", streams.output, "--dead-letter", streams.dead_letter]
    command = subprocess.Popen(
        _python(STREAM_COMMAND, tests_dir, *args, "--group", "scorers", "--redis-url", redis_url),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while client.xlen(streams.output) < 5 or client.xlen(streams.dead_letter) < 1:
            assert command.poll() is None, command.communicate()
            assert time.monotonic() < deadline, "the stream command scored nothing"
            time.sleep(0.05)
        time.sleep(0.3)
        assert command.poll() is None  # still consuming after the poison event
        command.send_signal(signal.SIGTERM)
        out, err = command.communicate(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0 and "Traceback" not in out + err, out + err
    assert "scored 5, dead-lettered 1" in out and "trip_distance" in out
    assert _scored_ids(client, streams.output) == Counter(valid)
    assert [f[b"source_id"] for _, f in client.xrange(streams.dead_letter)] == [poison]
    client.close()


# -------------------------------------------------------------------------------------------- killed consumers

POISONED_CONSUMER = textwrap.dedent(
    """
    import os, signal, sys, threading, redis
    from support.fakes_serving import predicting_with
    from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

    class KillingPredictor:
        '''Dies outright (no exception to catch) on the trip of 66.6 miles, like a segfaulting model.'''
        model_name, model_version = "trip-duration", "7"
        def predict_trips(self, requests):
            if any(r.trip_distance == 66.6 for r in requests):
                os.kill(os.getpid(), signal.SIGKILL)
            return [10.0 + r.trip_distance for r in requests]

    url, prefix, name = sys.argv[1:4]
    names = StreamNames(f"{prefix}in", f"{prefix}out", f"{prefix}dlq", "scorers")
    killing = predicting_with(KillingPredictor)
    scorer = StreamScorer(redis.Redis.from_url(url), names, killing, consumer=name,
                          block_ms=50, claim_idle_ms=0, max_deliveries=2)
    scorer.run(threading.Event(), idle_rounds=2)
    """
)


def test_event_that_kills_its_consumer_is_dead_lettered_alone_after_restarts(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = _names(redis_prefix)
    StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="setup").ensure_group()
    valid = [client.xadd(streams.input, _event(trip_distance=d)) for d in (1, 2)]
    poison = client.xadd(streams.input, _event(trip_distance=66.6))
    valid += [client.xadd(streams.input, _event(trip_distance=d)) for d in (3, 4, 5)]

    exits = []
    for restart in range(6):  # a supervisor restarting the consumer after each crash
        run = subprocess.run(
            _python(POISONED_CONSUMER, redis_url, redis_prefix, f"consumer-{restart}"),
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        exits.append(run.returncode)
        if run.returncode == 0:
            break
    assert exits[-1] == 0 and all(code == -signal.SIGKILL for code in exits[:-1]), exits

    assert _scored_ids(client, streams.output) == Counter(valid)  # each valid event once, none dead-lettered
    letters = client.xrange(streams.dead_letter)
    assert [f[b"source_id"] for _, f in letters] == [poison]
    assert b"delivered 3 times" in letters[0][1][b"reason"]
    assert client.xpending(streams.input, streams.group)["pending"] == 0
    client.close()


HANGING_CONSUMER = textwrap.dedent(
    """
    import sys, time, redis
    from support.fakes_serving import predicting_with
    from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

    class HangingPredictor:
        model_name, model_version = "trip-duration", "7"
        def predict_trips(self, requests):
            print("READ", len(requests), flush=True)
            time.sleep(120)  # SIGKILLed here: its batch read, nothing acknowledged

    url, prefix = sys.argv[1], sys.argv[2]
    names = StreamNames(f"{prefix}in", f"{prefix}out", f"{prefix}dlq", "scorers")
    hanging = predicting_with(HangingPredictor)
    scorer = StreamScorer(redis.Redis.from_url(url), names, hanging, consumer="doomed", batch_size=60)
    scorer.ensure_group()
    scorer.process_once(block_ms=100)
    """
)


def test_sigkilled_consumer_pending_entries_are_reclaimed_and_scored_exactly_once_by_racing_rescuers(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = _names(redis_prefix)
    StreamScorer(client, streams, predicting_with(DistancePredictor), consumer="setup").ensure_group()
    sent = [client.xadd(streams.input, _event(trip_distance=i / 10)) for i in range(200)]
    doomed = subprocess.Popen(
        _python(HANGING_CONSUMER, redis_url, redis_prefix), env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert doomed.stdout is not None and doomed.stdout.readline().strip() == "READ 60"
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        doomed.wait(10)
    assert client.xpending(streams.input, streams.group)["pending"] == 60

    # Three rescuers race for the stranded entries and the rest of the stream.
    totals = []

    def rescue(name: str) -> None:
        own = redis.Redis.from_url(redis_url)
        scorer = StreamScorer(
            own, streams, predicting_with(DistancePredictor), consumer=name, batch_size=7, block_ms=50
        )
        scorer.claim_idle_ms = 100
        totals.append(scorer.run(threading.Event(), idle_rounds=4))
        own.close()

    threads = [threading.Thread(target=rescue, args=(f"rescuer-{i}",)) for i in range(3)]
    time.sleep(0.15)  # the doomed consumer's entries are now idle for longer than claim_idle_ms
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    scored = _scored_ids(client, streams.output)
    assert scored == Counter(sent)  # every event scored, none twice
    assert sum(t.scored for t in totals) == 200 and sum(t.reclaimed for t in totals) >= 60
    assert client.xlen(streams.dead_letter) == 0
    assert client.xpending(streams.input, streams.group)["pending"] == 0
    client.close()


# ------------------------------------------------------------------------------------------- Redis restarting


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own, persisting every write (``appendfsync always``) under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _prerequisite_missing("redis-server")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


STEADY_CONSUMER = textwrap.dedent(
    """
    import logging, sys, threading, time, redis
    from support.fakes_serving import predicting_with
    from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

    class SlowPredictor:
        model_name, model_version = "trip-duration", "7"
        def predict_trips(self, requests):
            time.sleep(0.02)
            return [10.0 + r.trip_distance for r in requests]

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    url = sys.argv[1]
    names = StreamNames("trips", "predictions", "dead", "scorers")
    slow = predicting_with(SlowPredictor)
    scorer = StreamScorer(redis.Redis.from_url(url, socket_timeout=5), names, slow, consumer="steady",
                          batch_size=25, block_ms=100, max_backoff_seconds=0.5)
    total = scorer.run(threading.Event(), idle_rounds=5)
    print("DONE", total.scored, total.dead_lettered, flush=True)
    """
)


@pytest.mark.slow
def test_redis_restarted_mid_stream_consumer_reconnects_and_scores_every_event_once(
    private_redis: PrivateRedis,
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.xgroup_create("trips", "scorers", id="0", mkstream=True)
    pipe = client.pipeline(transaction=False)  # one fsync for the lot, not 1,500
    for i in range(1500):
        pipe.xadd("trips", _event(trip_distance=i / 100))
    sent = pipe.execute()
    client.close()
    consumer = subprocess.Popen(
        _python(STEADY_CONSUMER, private_redis.url),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        watcher = redis.Redis.from_url(private_redis.url)
        deadline = time.monotonic() + 30
        while watcher.xlen("predictions") < 300:
            assert time.monotonic() < deadline and consumer.poll() is None, "consumer made no progress"
            time.sleep(0.01)
        watcher.close()
        private_redis.kill()  # mid-stream: SIGKILL, no chance to flush anything more
        time.sleep(1.0)  # the consumer meets refused connections and backs off
        private_redis.start()  # same port, same directory: the AOF brings the stream back
        out, err = consumer.communicate(timeout=60)
    finally:
        if consumer.poll() is None:
            consumer.kill()
    assert consumer.returncode == 0, err
    assert "Traceback" not in err and "redis unavailable" in err
    assert out.split() == ["DONE", str(out.split()[1]), "0"]
    client = redis.Redis.from_url(private_redis.url)
    assert _scored_ids(client, "predictions") == Counter(sent)  # nothing lost, nothing scored twice
    assert client.xpending("trips", "scorers")["pending"] == 0
    client.close()

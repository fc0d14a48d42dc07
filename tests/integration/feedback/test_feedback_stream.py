"""The Redis Streams consumer logs each scored event under ``stream:<entry id>``: outcomes join on the id the
producer got from XADD, and a redelivered event is logged once."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import redis

from support.fakes_serving import FactoryModelSource
from tripcast.bootstrap.feedback import describe_trips
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import Actual
from tripcast.core.services.prediction import Prediction
from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore
from tripcast.mlops.serving.streaming import StreamNames, StreamScorer

TRIP = {"pickup_datetime": "2021-02-01T08:00:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 2.0}


class DistanceModel:
    model_name, model_version, cpu_only = "trip-duration", "7", True

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        return [10.0 + r.trip_distance for r in requests]


def test_stream_scores_are_logged_under_their_event_ids(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    streams = StreamNames(f"{redis_prefix}in", f"{redis_prefix}out", f"{redis_prefix}dlq", "scorers")
    store = SqlPredictionLogStore(f"sqlite:///{tmp_path / 'p.db'}")
    log = BufferedPredictionLog(store, describe_trips, flush_seconds=3600)
    prediction = Prediction(FactoryModelSource(DistanceModel), log=log)
    scorer = StreamScorer(client, streams, prediction, consumer="a", block_ms=50)
    scorer.ensure_group()
    ids = [client.xadd(streams.input, {"trip": json.dumps({**TRIP, "trip_distance": d})}).decode() for d in (1, 3)]
    client.xadd(streams.input, {"trip": "{broken"})  # dead-lettered: never logged
    total = scorer.run(threading.Event(), idle_rounds=1)
    assert (total.scored, total.dead_lettered) == (2, 1)
    log.close()
    assert store.count() == 2
    store.record_actuals([Actual(f"stream:{ids[1]}", 14.0)], datetime.now(UTC))
    [row] = store.labeled("trip-duration")
    assert (row.request_id, row.predicted_minutes, row.model_version) == (f"stream:{ids[1]}", 13.0, "7")
    client.close()

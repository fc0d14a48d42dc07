"""The SQL prediction log on SQLite and PostgreSQL: idempotent batch writes, outcomes all-or-nothing, the
buffered writer under concurrent appends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tripcast.bootstrap.feedback import describe_trips
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import Actual, LoggedPrediction
from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore

T0 = datetime(2021, 2, 1, 8, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlPredictionLogStore:
    url = (
        f"sqlite:///{tmp_path / 'predictions.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    s = SqlPredictionLogStore(str(url))
    yield s
    s.close()


def prediction(i: int, version: str = "1", segment: str = "Manhattan") -> LoggedPrediction:
    return LoggedPrediction(
        f"r{i}", "trip-duration", version, f"{i:016x}", segment, 74, 10.0 + i, T0 + timedelta(hours=i)
    )


def test_writes_are_idempotent_and_outcomes_join_by_request_id(store: SqlPredictionLogStore) -> None:
    assert store.write([prediction(i) for i in range(5)]) == 5
    assert store.write([prediction(i) for i in range(3, 8)]) == 3  # r3, r4 already there
    assert store.count() == 8
    assert store.known_ids(["r0", "r7", "nope"]) == {"r0", "r7"}
    store.record_actuals([Actual("r1", 12.5), Actual("r2", 9.0)], datetime(2021, 2, 3, tzinfo=UTC))
    rows = sorted(store.labeled("trip-duration"), key=lambda r: r.request_id)
    assert [(r.request_id, r.predicted_minutes, r.actual_minutes) for r in rows] == [
        ("r1", 11.0, 12.5),
        ("r2", 12.0, 9.0),
    ]
    assert [r.request_id for r in store.labeled("trip-duration", since=T0 + timedelta(hours=2))] == ["r2"]
    predictions, actuals = store.decay_tables("trip-duration", "1")
    assert list(predictions["request_id"]) == ["r1", "r2"] and list(actuals["actual"]) == [12.5, 9.0]


def test_buffered_log_writes_every_appended_prediction_from_concurrent_threads(store: SqlPredictionLogStore) -> None:
    log = BufferedPredictionLog(store, describe_trips, flush_seconds=0.05)
    trip = TripRequest(datetime(2021, 2, 1, 8, 30), 74, 132, 3.2)

    def serve(worker: int) -> None:
        for i in range(50):
            log.append("trip-duration", "2", [f"w{worker}-{i}"], [trip], [14.0])

    threads = [threading.Thread(target=serve, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert store.count() == 400 and log.dropped == 0
    [row] = [r for r in store.known_ids(["w3-7"])]
    assert row == "w3-7"
    store.record_actuals([Actual("w3-7", 15.0)], datetime.now(UTC))
    [labeled] = store.labeled("trip-duration")
    assert labeled.segment == "Manhattan" and labeled.model_version == "2"  # zone 74: East Harlem North
    now = datetime.now(UTC)  # the fast path's times compare like SQLAlchemy's
    assert len(store.labeled("trip-duration", since=now - timedelta(hours=1))) == 1
    assert store.labeled("trip-duration", since=now + timedelta(hours=1)) == []


def test_buffered_log_drops_and_counts_beyond_its_bound(tmp_path: Path) -> None:
    store = SqlPredictionLogStore(f"sqlite:///{tmp_path / 'p.db'}")
    log = BufferedPredictionLog(store, describe_trips, flush_seconds=60, max_pending=3)
    trip = TripRequest(datetime(2021, 2, 1, 8, 30), 74, 132, 3.2)
    for i in range(5):
        log.append("trip-duration", "1", [f"r{i}"], [trip], [10.0])
    log.close()
    assert (store.count(), log.dropped) == (3, 2)


def test_a_log_database_down_at_start_keeps_rows_queued_until_it_answers(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"  # SQLite cannot open a file in a missing directory: the database is "down"
    store = SqlPredictionLogStore(f"sqlite:///{missing / 'p.db'}")  # constructing it touches nothing
    log = BufferedPredictionLog(store, describe_trips, flush_seconds=3600)
    trip = TripRequest(datetime(2021, 2, 1, 8, 30), 74, 132, 3.2)
    log.append("trip-duration", "1", ["a", "b"], [trip, trip], [10.0, 11.0])
    with pytest.raises(Exception, match="unable to open database"):
        log.flush()
    missing.mkdir()  # the database comes back
    assert log.flush() == 2 and store.known_ids(["a", "b"]) == {"a", "b"}
    log.close()


def test_a_table_of_an_older_release_is_widened_for_client_request_ids(postgres_url: str) -> None:
    """The prediction log once kept varchar(80) ids; a client's X-Request-Id may be 128 characters plus a batch
    row's ".<index>": the first use widens the old table (create_all alone never would) and the row fits."""
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE prediction_log (request_id varchar(80) PRIMARY KEY)"))
        conn.execute(
            sa.text(
                "ALTER TABLE prediction_log ADD COLUMN model_name varchar(200) NOT NULL, "
                "ADD COLUMN model_version varchar(32) NOT NULL, ADD COLUMN features_digest varchar(64) NOT NULL, "
                "ADD COLUMN segment varchar(80) NOT NULL, ADD COLUMN zone integer, "
                "ADD COLUMN predicted_minutes double precision NOT NULL, ADD COLUMN predicted_at timestamp NOT NULL, "
                "ADD COLUMN actual_minutes double precision, ADD COLUMN actual_recorded_at timestamp"
            )
        )
    long_id = "c" * 128 + ".999"
    store = SqlPredictionLogStore(postgres_url)
    try:
        store.append([LoggedPrediction(long_id, "trip-duration", "1", "0" * 16, "Manhattan", 74, 10.0, T0)])
        assert store.known_ids([long_id]) == {long_id}
    finally:
        store.close()
        engine.dispose()

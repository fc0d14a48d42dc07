"""Ingestion sources against real services: PostgreSQL, a local paginated REST API, Redis Streams, NATS JetStream."""

from __future__ import annotations

import asyncio
import json
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from tripcast.core.domain.month import Month
from tripcast.data_engineering.ingestion.database import SqlTripSource, WatermarkStore
from tripcast.data_engineering.ingestion.rest import ApiSourceError, RestTripSource
from tripcast.data_engineering.streaming import NatsTripStream, RedisTripStream
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.egress import EgressPolicy, EgressRefusedError

JAN = Month(2021, 1)
#: The test API listens on loopback, which outbound requests may only reach when allowed explicitly.
LOOPBACK = EgressPolicy(allowed_hosts=("127.0.0.1",))


@pytest.fixture(scope="module")
def raw_sample(shared_data_dir) -> pd.DataFrame:
    """1,000 real January rows and 300 real February rows, TLC column names."""
    jan = pd.read_parquet(shared_data_dir / "green_tripdata_2021-01.parquet").head(1000)
    feb = pd.read_parquet(shared_data_dir / "green_tripdata_2021-02.parquet").head(300)
    return pd.concat([jan, feb], ignore_index=True).drop(columns=["ehail_fee"])


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def test_sql_source_by_table_query_and_watermark(postgres_url, raw_sample, tmp_path):
    engine = sa.create_engine(postgres_url)
    raw_sample.assign(id=range(1, len(raw_sample) + 1)).to_sql("green_trips", engine, index=False)
    engine.dispose()
    in_jan = raw_sample.lpep_pickup_datetime.between("2021-01-01", "2021-01-31 23:59:59").sum()

    source = SqlTripSource(postgres_url, table="green_trips", timestamp_column="lpep_pickup_datetime")
    month = source.load(JAN)
    assert len(month.table) == in_jan
    assert month.table.pickup_datetime.min() >= pd.Timestamp("2021-01-01")
    assert list(month.table.columns)[:3] == ["service", "vendor_id", "pickup_datetime"]
    assert PanderaTripValidator().split(month).n_valid > 0.9 * in_jan

    store = WatermarkStore(tmp_path / "watermarks.json")
    first = source.load_incremental(store, "id", limit=800)
    assert len(first.trips) == 800 and first.watermark == 800
    first.commit()
    second = source.load_incremental(store, "id", limit=800)
    assert len(second.trips) == 500
    second.commit()
    assert len(source.load_incremental(store, "id").trips) == 0
    with source.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO green_trips SELECT * FROM green_trips WHERE id <= 5"))
    assert len(source.load_incremental(store, "id").trips) == 0  # copies carry old ids: nothing new
    source.close()

    by_query = SqlTripSource(
        postgres_url,
        query='SELECT * FROM green_trips WHERE "PULocationID" = 74',
        timestamp_column="lpep_pickup_datetime",
    )
    assert set(by_query.load(JAN).table.pickup_zone.unique()) == {74}
    by_query.close()


def _rows_sharing_watermarks() -> pd.DataFrame:
    """Ten trips on two pickup times (5 + 5), two of them identical rows; trip_distance tells them apart."""
    times = [pd.Timestamp("2021-01-05 08:00")] * 5 + [pd.Timestamp("2021-01-05 09:00")] * 5
    distances = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]  # 3.0 twice: the same row inserted twice
    return pd.DataFrame(
        {
            "id": range(1, 11),
            "lpep_pickup_datetime": times,
            "PULocationID": 74,
            "DOLocationID": 75,
            "trip_distance": distances,
        }
    )


@pytest.mark.parametrize("key_column", ["id", None], ids=["keyset", "dedup"])
def test_sql_incremental_delivers_rows_sharing_the_watermark_across_batches_exactly_once(
    postgres_url, tmp_path, key_column
):
    rows = _rows_sharing_watermarks()
    engine = sa.create_engine(postgres_url)
    # Without a key column, the two copies of trip 3.0 are the same row in every column.
    table = rows if key_column else rows.drop(columns=["id"])
    table.sample(frac=1, random_state=7).to_sql("timed_trips", engine, index=False)  # heap order != time order
    engine.dispose()
    source = SqlTripSource(postgres_url, table="timed_trips", timestamp_column="lpep_pickup_datetime")
    store = WatermarkStore(tmp_path / "watermarks.json")
    delivered: list[float] = []
    sizes = []
    for _ in range(10):
        batch = source.load_incremental(store, "lpep_pickup_datetime", key_column=key_column, limit=3)
        if not len(batch.trips):
            break
        sizes.append(len(batch.trips))
        delivered += batch.trips.trip_distance.tolist()
        batch.commit()
    with source.engine.begin() as conn:  # a late row at the last watermark value is not skipped either
        conn.execute(sa.text("INSERT INTO timed_trips SELECT * FROM timed_trips WHERE trip_distance = 9.0"))
        conn.execute(
            sa.text("UPDATE timed_trips SET trip_distance = 9.5 WHERE ctid = (SELECT max(ctid) FROM timed_trips)")
        )
        if key_column:
            conn.execute(sa.text("UPDATE timed_trips SET id = 11 WHERE trip_distance = 9.5"))
    late = source.load_incremental(store, "lpep_pickup_datetime", key_column=key_column, limit=3)
    source.close()
    assert sorted(delivered) == sorted(rows.trip_distance.tolist())  # none skipped, none twice
    assert late.trips.trip_distance.tolist() == [9.5]
    assert max(sizes) <= (3 if key_column else 5)


def test_sql_source_refuses_injection(postgres_url):
    from tripcast.core.domain.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="table"):
        SqlTripSource(postgres_url, table="trips; DROP TABLE x")


def test_rest_source_pages_with_retries(http_server, raw_sample):
    url, recorder = http_server
    rows = _records(raw_sample.head(250))
    base = f"{url}/v1/trips"
    recorder.routes = {
        "/v1/trips?month=2021-01&page=1&page_size=100": (
            200,
            json.dumps({"data": rows[:100], "next": f"{base}?cursor=abc"}).encode(),
            "application/json",
        ),
        "/v1/trips?cursor=abc": (200, json.dumps({"data": rows[100:200], "next_page": 3}).encode(), "application/json"),
        "/v1/trips?month=2021-01&page=3&page_size=100": (
            200,
            json.dumps({"data": rows[200:], "next_page": None}).encode(),
            "application/json",
        ),
    }
    recorder.statuses = [200, 429, 500, 200, 200]
    slept: list[float] = []
    source = RestTripSource(
        base, page_size=100, backoff_seconds=0.01, requests_per_second=1000, sleep=slept.append, egress=LOOPBACK
    )
    dataset = source.load(JAN)
    source.close()
    assert source.attempts == [200, 429, 500, 200, 200]
    assert len(dataset.table) == 250
    assert dataset.table.pickup_zone.tolist() == raw_sample.head(250).PULocationID.tolist()
    # exponential backoff between the retried attempts, plus at most 10% jitter
    backoffs = [s for s in slept if s >= 0.005]  # the rate limiter's own waits are at most 1 ms here
    assert len(backoffs) == 2 and 0.01 <= backoffs[0] <= 0.011 and 0.02 <= backoffs[1] <= 0.022


def test_rest_source_gives_up_clearly(http_server):
    url, recorder = http_server
    recorder.statuses = [503, 503, 503]
    source = RestTripSource(f"{url}/v1/trips", retries=2, backoff_seconds=0.0, sleep=lambda s: None, egress=LOOPBACK)
    with pytest.raises(ApiSourceError, match="failed after 3 attempts: HTTP 503"):
        source.load(JAN)
    recorder.statuses = []
    with pytest.raises(ApiSourceError, match="refused the request: HTTP 404"):
        RestTripSource(f"{url}/missing", sleep=lambda s: None, egress=LOOPBACK).load(JAN)


def test_rest_source_refuses_loopback_unless_allowed_and_next_links_to_another_host(http_server):
    url, recorder = http_server
    with pytest.raises(EgressRefusedError, match=r"127\.0\.0\.1 is a private, loopback or link-local address"):
        RestTripSource(f"{url}/v1/trips", sleep=lambda s: None, egress=EgressPolicy()).load(JAN)
    assert recorder.requests == []  # refused before any connection
    with pytest.raises(EgressRefusedError, match="only http"):
        RestTripSource("file:///etc/passwd", egress=LOOPBACK)

    port = url.rsplit(":", 1)[1]
    recorder.routes = {
        "/v1/trips?month=2021-01&page=1&page_size=1000": (
            200,
            json.dumps({"data": [], "next": f"http://localhost:{port}/internal/admin"}).encode(),
            "application/json",
        )
    }
    source = RestTripSource(f"{url}/v1/trips", sleep=lambda s: None, egress=EgressPolicy(allow_private=True))
    with pytest.raises(ApiSourceError, match="refusing to follow a next link to another host"):
        source.load(JAN)
    assert [r["path"] for r in recorder.requests] == ["/v1/trips?month=2021-01&page=1&page_size=1000"]


def test_egress_checks_every_resolved_address_and_connects_only_to_a_checked_one(http_server):
    from tripcast.egress import guarded_client

    url, recorder = http_server
    port = int(url.rsplit(":", 1)[1])
    recorder.routes = {"/ping": (200, b"{}", "application/json")}
    asked: list[str] = []

    def resolver(host, _port):
        asked.append(host)
        return {"api.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34", "169.254.169.254"]}[host]

    # A name the system DNS does not know answers through the checked address: the connection is pinned to it.
    with guarded_client(LOOPBACK, timeout=5, resolve=resolver) as client:
        assert client.get(f"http://api.example:{port}/ping").status_code == 200
        with pytest.raises(EgressRefusedError, match=r"mixed.example \(169.254.169.254\)"):
            client.get(f"http://mixed.example:{port}/ping")
    with guarded_client(EgressPolicy(), timeout=5, resolve=resolver) as client, pytest.raises(EgressRefusedError):
        client.get(f"http://api.example:{port}/ping")
    assert asked == ["api.example", "mixed.example", "api.example"]  # one resolution per connection


def test_redis_stream_micro_batches(redis_url, redis_prefix, raw_sample):
    stream = RedisTripStream(redis_url, f"{redis_prefix}trips", group="g1", consumer="c1", batch_size=500, block_ms=200)
    try:
        stream.ensure_group()
        assert stream.publish(_records(raw_sample.head(1200))) == 1200
        stream.client.xadd(stream.stream, {b"trip": b"not json"})
        held = stream.read_batch()  # read but not acked: stays pending for redelivery
        assert len(held) == 500 and stream.pending() == 500
        stream.ack(held)
        batches = list(stream.micro_batches())
        assert [len(b) for b in batches] == [500, 200]
        rejected = [eid for b in batches for eid, _ in b.rejected]
        assert rejected and stream.pending() == 0
        letters = stream.client.xrange(stream.dead_letter)  # moved aside with the reason, not acked away
        assert [f[b"source_id"].decode() for _, f in letters] == rejected
        assert letters[0][1][b"trip"] == b"not json" and b"JSONDecodeError" in letters[0][1][b"reason"]
        got = pd.concat([held.trips, *[b.trips for b in batches]], ignore_index=True)
        assert got.pickup_zone.tolist() == raw_sample.head(1200).PULocationID.tolist()
        assert str(got.pickup_datetime.dtype) == "datetime64[us]"
    finally:
        stream.delete()
        stream.close()


def test_redis_stream_reclaims_a_dead_consumers_batch_and_dead_letters_one_that_keeps_coming_back(
    redis_url, redis_prefix, raw_sample
):
    name = f"{redis_prefix}trips"
    crashed = RedisTripStream(redis_url, name, group="g", consumer="crashed", batch_size=50, block_ms=50)
    rescuer = RedisTripStream(
        redis_url, name, group="g", consumer="rescuer", batch_size=50, block_ms=50, claim_idle_ms=0, max_deliveries=3
    )
    try:
        crashed.ensure_group()
        crashed.publish(_records(raw_sample.head(60)))
        assert len(crashed.read_batch()) == 50  # read, never acked: the consumer died
        first = rescuer.read_batch()
        assert len(first) == 50 and not first.rejected  # the stranded batch, reclaimed
        again = rescuer.read_batch()  # not acked either (crashed again): reclaimed once more
        assert len(again) == 50
        third = rescuer.read_batch()  # a 4th delivery > max_deliveries: dead-lettered, not retried forever
        assert len(third) == 0 and len(third.rejected) == 50
        assert all("delivered 4 times" in reason for _, reason in third.rejected)
        rest = rescuer.read_batch()
        assert len(rest) == 10
        rescuer.ack(rest)
        assert rescuer.pending() == 0 and rescuer.client.xlen(rescuer.dead_letter) == 50
    finally:
        rescuer.delete()
        crashed.close()
        rescuer.close()


def test_nats_jetstream_micro_batches(raw_sample):
    name = f"TRIPCAST_TEST_{uuid.uuid4().hex[:10].upper()}"
    subject = f"tripcast.test.{name.lower()}.trips"

    async def scenario() -> list[int]:
        async with NatsTripStream(
            "nats://127.0.0.1:4222", name, subject, durable="d1", batch_size=128, timeout=2.0
        ) as stream:
            try:
                await stream.publish(_records(raw_sample.head(150)))
                await stream._js.publish(subject, b'{"trip_distance": ' + b"9" * 400 + b"}")  # poison
                await stream.publish(_records(raw_sample.iloc[150:300]))
                sizes, zones, rejected = [], [], []
                async for batch in stream.micro_batches():
                    sizes.append(len(batch))
                    zones += batch.trips.pickup_zone.tolist()
                    rejected += batch.rejected
                assert zones == raw_sample.head(300).PULocationID.tolist()
                assert [reason.split(":")[0] for _, reason in rejected] == ["OverflowError"]
                dead = await stream._js.get_last_msg(stream.dead_letter_stream, stream.dead_letter_subject)
                assert dead.data.startswith(b'{"trip_distance": 999') and dead.headers["Tripcast-Reason"]
                return sizes
            finally:
                await stream.delete()

    # A fetch may return early on a loaded machine, so batch boundaries vary; size and order may not.
    sizes = asyncio.run(scenario())
    assert sum(sizes) == 300 and max(sizes) <= 128 and len(sizes) >= 3

"""``tripcast ingest --from postgres|rest|redis|nats`` as a user runs it, against the real servers running here.

Each test lands real TLC rows in a fresh data folder, checks the landed parquet file (rows, schema), the
audit event, and that ``tripcast validate`` then finds and validates the month.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from support.trips_api import TripsApi, serve_trips_api
from tripcast.bootstrap import bootstrap
from tripcast.cli.app import app
from tripcast.data_engineering.streaming.nats_jetstream import NatsTripStream
from tripcast.data_engineering.streaming.redis_stream import RedisTripStream
from tripcast.settings import Settings

runner = CliRunner()
NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture(scope="module")
def raw_sample(shared_data_dir) -> pd.DataFrame:
    """400 real January rows and 100 real February rows, TLC column names (ehail_fee: all null, dropped)."""
    jan = pd.read_parquet(shared_data_dir / "green_tripdata_2021-01.parquet").head(400)
    feb = pd.read_parquet(shared_data_dir / "green_tripdata_2021-02.parquet").head(100)
    return pd.concat([jan, feb], ignore_index=True).drop(columns=["ehail_fee"])


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(folder))
    monkeypatch.setenv("TRIPCAST_EGRESS_ALLOWED_HOSTS", "127.0.0.1")
    return folder


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _in_month(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    return frame[frame.lpep_pickup_datetime.dt.strftime("%Y-%m") == month]


def _ingest(*args: str):
    result = runner.invoke(app, ["ingest", *args])
    assert "Traceback" not in result.output
    return result


def _landed(data_dir: Path, month: str) -> pd.DataFrame:
    return pd.read_parquet(data_dir / "raw" / f"green_tripdata_{month}.parquet")


def _ingested_events(data_dir: Path) -> list:
    return bootstrap(Settings(data_dir=data_dir)).audit.events(actions=["dataset.ingested"])


def test_postgres_month_lands_where_validate_finds_it_and_is_audited(postgres_url, raw_sample, data_dir):
    engine = sa.create_engine(postgres_url)
    raw_sample.to_sql("green_trips", engine, index=False)
    engine.dispose()
    january = _in_month(raw_sample, "2021-01")

    result = _ingest(
        "--from", "postgres", "--url", postgres_url, "--table", "green_trips", "--month", "2021-01",
        "--batch-size", "100",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"{len(january):,} landed" in result.output and "0 rejected" in result.output
    landed = _landed(data_dir, "2021-01")
    # read from a server-side cursor 100 rows at a time, each batch one row group: memory held one batch
    assert pq.ParquetFile(data_dir / "raw" / "green_tripdata_2021-01.parquet").num_row_groups == -(-len(january) // 100)
    assert sorted(landed.pickup_zone.tolist()) == sorted(january.PULocationID.tolist())  # ordered by pickup time
    assert "postgres_password" not in result.output
    (event,) = _ingested_events(data_dir)
    assert event.details["rows"] == str(len(january)) and event.details["month"] == "2021-01"
    assert event.details["source"].endswith("#green_trips")

    validated = runner.invoke(app, ["validate", "--month", "2021-01"])
    assert validated.exit_code == 0, validated.output
    assert f"{len(january):,} rows in" in validated.output


def test_postgres_watermark_pulls_only_new_rows_and_appends_to_their_months(postgres_url, raw_sample, data_dir):
    engine = sa.create_engine(postgres_url)
    raw_sample.head(450).assign(id=range(1, 451)).to_sql("green_trips", engine, index=False)
    args = ["--from", "postgres", "--url", postgres_url, "--table", "green_trips"]
    args += ["--watermark-column", "id", "--key-column", "id", "--batch-size", "200"]

    first = _ingest(*args)
    assert first.exit_code == 0, first.output
    assert "450 records read" in first.output
    jan_rows, feb_rows = (
        len(_in_month(raw_sample.head(450), "2021-01")),
        len(_in_month(raw_sample.head(450), "2021-02")),
    )
    assert (len(_landed(data_dir, "2021-01")), len(_landed(data_dir, "2021-02"))) == (jan_rows, feb_rows)

    again = _ingest(*args)
    assert again.exit_code == 0 and "0 records read" in again.output

    raw_sample.iloc[450:].assign(id=range(451, 451 + len(raw_sample) - 450)).to_sql(
        "green_trips", engine, index=False, if_exists="append"
    )
    engine.dispose()
    third = _ingest(*args)
    assert third.exit_code == 0 and f"{len(raw_sample) - 450} records read" in third.output
    assert len(_landed(data_dir, "2021-02")) == len(_in_month(raw_sample, "2021-02"))  # appended, not replaced
    assert json.loads((data_dir / "ingest_watermarks.json").read_text())


def test_rest_api_pages_land_the_month(raw_sample, data_dir):
    january = _in_month(raw_sample, "2021-01")
    api = TripsApi({"2021-01": _records(january)})
    api.statuses = [503]  # one glitch, retried
    with serve_trips_api(api) as url:
        result = _ingest("--from", "rest", "--url", url, "--month", "2021-01", "--batch-size", "150")
    assert result.exit_code == 0, result.output
    assert len(_landed(data_dir, "2021-01")) == len(january)
    assert len(api.requests) == 1 + -(-len(january) // 150)  # the 503, then every page once


def test_redis_stream_is_drained_acked_and_a_poison_event_kept_with_its_reason(
    redis_url, redis_prefix, raw_sample, data_dir
):
    name = f"{redis_prefix}trips"
    producer = RedisTripStream(redis_url, name, group="tripcast-ingest")
    producer.publish(_records(raw_sample.head(250)))
    producer.client.xadd(name, {b"trip": b"{not json"})
    producer.publish(_records(raw_sample.iloc[250:300]))

    result = _ingest("--from", "redis", "--url", redis_url, "--stream", name, "--batch-size", "100")

    assert result.exit_code == 0, result.output
    assert "301 records read" in result.output and "300 landed" in result.output and "1 rejected" in result.output
    assert "JSONDecodeError" in result.output
    # Each trip lands in its pickup month's file: January's file holds a few strays from other months.
    landed = pd.concat([pd.read_parquet(p) for p in sorted((data_dir / "raw").glob("*.parquet"))])
    assert sorted(landed.pickup_zone.tolist()) == sorted(raw_sample.head(300).PULocationID.tolist())
    assert producer.pending() == 0  # acknowledged once landed
    assert producer.client.xlen(producer.dead_letter) == 1
    (rejected_file,) = (data_dir / "quarantine" / "ingest").glob("ingest-*.jsonl")
    (line,) = rejected_file.read_text().splitlines()
    assert json.loads(line)["reason"].startswith("JSONDecodeError")
    producer.delete()
    producer.close()


def test_nats_jetstream_is_drained_into_the_landing_area(raw_sample, data_dir):
    name = f"TRIPCAST_TEST_{uuid.uuid4().hex[:10].upper()}"
    subject = f"tripcast.test.{name.lower()}.trips"
    stream = NatsTripStream(NATS_URL, name, subject)

    async def publish() -> None:
        async with stream:
            await stream.publish(_records(raw_sample.head(200)))

    async def delete() -> None:
        async with stream:
            await stream.delete()

    asyncio.run(publish())
    try:
        result = _ingest(
            "--from", "nats", "--url", NATS_URL, "--stream", name, "--subject", subject, "--month", "2021-01"
        )
        assert result.exit_code == 0, result.output
        assert "200 landed" in result.output
        assert len(_landed(data_dir, "2021-01")) == 200
        again = _ingest("--from", "nats", "--url", NATS_URL, "--stream", name, "--subject", subject)
        assert again.exit_code == 0 and "0 records read" in again.output  # acked: nothing redelivered
    finally:
        asyncio.run(delete())


def test_file_source_keeps_todays_behaviour_and_is_audited(shared_data_dir, data_dir):
    result = _ingest("--month", "2021-01", "--source", str(shared_data_dir))
    assert result.exit_code == 0, result.output
    assert "green_tripdata_2021-01.parquet" in result.output
    (event,) = _ingested_events(data_dir)
    assert event.details == {"source": "file", "month": "2021-01"}

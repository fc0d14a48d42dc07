"""Faults on ``tripcast ingest --from ...``: a source down at start, a source failing midway, poison rows and messages.

A failed run must end in one clear line and a non-zero exit, leave no landing file (nor a temporary one)
behind, keep what landed before intact, and acknowledge nothing at the source.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from support.trips_api import TripsApi, serve_trips_api
from tripcast.cli.app import app
from tripcast.data_engineering.streaming.nats_jetstream import NatsTripStream

runner = CliRunner()


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(folder))
    monkeypatch.setenv("TRIPCAST_EGRESS_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("TRIPCAST_INGEST_RETRIES", "1")  # a down API is retried once, not for 7 s
    return folder


def _trips(n: int) -> list[dict]:
    return [
        {
            "PULocationID": 74,
            "DOLocationID": 75,
            "lpep_pickup_datetime": f"2021-01-05T08:{i % 60:02d}:00",
            "lpep_dropoff_datetime": f"2021-01-05T09:{i % 60:02d}:00",
            "trip_distance": 1.0 + i,
        }
        for i in range(n)
    ]


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("postgres", "postgresql+psycopg://postgres:secret@127.0.0.1:{port}/trips"),
        ("redis", "redis://127.0.0.1:{port}/0"),
        ("nats", "nats://127.0.0.1:{port}"),
        ("rest", "http://127.0.0.1:{port}/v1/trips"),
    ],
)
def test_a_source_down_at_start_is_one_clear_error_and_lands_nothing(kind, url, data_dir):
    url = url.format(port=_closed_port())
    args = ["ingest", "--from", kind, "--url", url, "--month", "2021-01", "--table", "trips"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert "127.0.0.1" in result.output  # names the source
    assert "secret" not in result.output  # without its password
    assert _files_in(data_dir / "raw") == []


def test_a_source_failing_midway_keeps_the_landed_month_and_leaves_no_partial_file(data_dir):
    api = TripsApi({"2021-01": _trips(30)})
    with serve_trips_api(api) as url:
        args = ["ingest", "--from", "rest", "--url", url, "--month", "2021-01", "--batch-size", "10"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        landed = data_dir / "raw" / "green_tripdata_2021-01.parquet"
        before = landed.read_bytes()
        api.rows_by_month = {"2021-01": _trips(50)}
        api.statuses = [200, 200, 500, 500]  # page 3 keeps failing: every retry used
        second = runner.invoke(app, args)
    assert second.exit_code == 1 and "failed after 2 attempts: HTTP 500" in second.output
    assert landed.read_bytes() == before  # the previous month file, untouched
    assert _files_in(data_dir / "raw") == ["green_tripdata_2021-01.parquet", "green_tripdata_2021-01.parquet.sha256"]


def test_poison_rows_in_a_table_are_rejected_with_the_validators_reason(postgres_url, data_dir):
    rows = pd.DataFrame(_trips(5)).astype({"trip_distance": str})
    for column in ("lpep_pickup_datetime", "lpep_dropoff_datetime"):
        rows[column] = pd.to_datetime(rows[column])
    rows.loc[2, "trip_distance"] = "abc"  # a text column: one value no number can be read from
    engine = sa.create_engine(postgres_url)
    rows.to_sql("trips", engine, index=False)
    engine.dispose()

    result = runner.invoke(
        app, ["ingest", "--from", "postgres", "--url", postgres_url, "--table", "trips", "--month", "2021-01"]
    )

    assert result.exit_code == 0, result.output
    assert "4 landed" in result.output and "1 rejected" in result.output and "wrong_type_trip_distance" in result.output
    landed = pd.read_parquet(data_dir / "raw" / "green_tripdata_2021-01.parquet")
    assert sorted(landed.trip_distance.tolist()) == [1.0, 2.0, 4.0, 5.0]
    (kept,) = (data_dir / "quarantine" / "ingest").glob("*.jsonl")
    assert json.loads(kept.read_text())["reason"] == "wrong_type_trip_distance"


def test_a_poison_message_on_nats_is_dead_lettered_and_the_rest_land(data_dir):
    name = f"TRIPCAST_TEST_{uuid.uuid4().hex[:10].upper()}"
    subject = f"tripcast.test.{name.lower()}.trips"
    stream = NatsTripStream("nats://127.0.0.1:4222", name, subject)

    async def publish() -> None:
        async with stream:
            await stream.publish(_trips(3))
            await stream._js.publish(subject, b'{"trip_distance": ' + b"9" * 400 + b"}")
            await stream.publish(_trips(2))

    async def dead_letter_and_delete() -> bytes:
        async with stream:
            try:
                dead = await stream._js.get_last_msg(stream.dead_letter_stream, stream.dead_letter_subject)
                return bytes(dead.data)
            finally:
                await stream.delete()

    asyncio.run(publish())
    try:
        result = runner.invoke(app, ["ingest", "--from", "nats", "--stream", name, "--subject", subject])
    finally:
        dead = asyncio.run(dead_letter_and_delete())
    assert result.exit_code == 0, result.output
    assert "6 records read" in result.output and "5 landed" in result.output and "OverflowError" in result.output
    assert dead.startswith(b'{"trip_distance": 999')


def test_a_missing_table_is_one_clear_error(postgres_url, data_dir):
    result = runner.invoke(
        app, ["ingest", "--from", "postgres", "--url", postgres_url, "--table", "no_such_table", "--month", "2021-01"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no_such_table" in result.output and "does not exist" in result.output

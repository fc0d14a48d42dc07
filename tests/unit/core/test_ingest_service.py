"""The Ingestion service against in-memory fakes of its ports: results, acknowledgements and audit events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.ingest import LandedFile, RejectedRecord, SourceBatch
from tripcast.core.services.ingest_sources import Ingestion, IngestRowsUnaccountedError

JAN, FEB = Month(2021, 1), Month(2021, 2)
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


class FakeAudit(AuditLog):
    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(self, subject_prefix: str = "", limit: int = 100, actions=None) -> list[AuditEvent]:
        return [e for e in reversed(self.recorded) if e.subject.startswith(subject_prefix)][:limit]


class FakeSource:
    """Batches of trips as lists of ``{"month": Month}`` rows; optionally fails after some batches."""

    def __init__(self, batches: list[SourceBatch], fail_after: int | None = None) -> None:
        self._batches = batches
        self.fail_after = fail_after
        self.acknowledged = 0
        self.read = 0

    def describe(self) -> str:
        return "fake://trips"

    def batches(self, month: Month | None) -> Iterator[SourceBatch]:
        for batch in self._batches:
            if self.fail_after is not None and self.read >= self.fail_after:
                raise ConnectionError("source went away")
            self.read += 1
            yield batch

    def acknowledge(self) -> None:
        self.acknowledged += 1

    def close(self) -> None:
        pass


class FakeLanding:
    """Rows staged per month until commit; rows without a month are rejected, as the parquet store does."""

    def __init__(self, lose_rows: int = 0) -> None:
        self.staged: dict[Month, list[dict]] = {}
        self.landed: dict[Month, list[dict]] = {}
        self.rejected_saved: list[tuple[str, list[RejectedRecord]]] = []
        self.aborted = False
        self.lose_rows = lose_rows

    def write(self, month: Month | None, table: list[dict]) -> list[RejectedRecord]:
        rejected = []
        for i, row in enumerate(table):
            target = month or row.get("month")
            if target is None:
                rejected.append(RejectedRecord(f"row {i}", "missing_pickup_datetime"))
            else:
                self.staged.setdefault(target, []).append(row)
        return rejected

    def commit(self) -> list[LandedFile]:
        files = [
            LandedFile(m, f"/raw/green_tripdata_{m}.parquet", len(rows) - self.lose_rows, len(rows))
            for m, rows in sorted(self.staged.items())
        ]
        self.landed.update(self.staged)
        self.staged = {}
        return files

    def abort(self) -> None:
        self.aborted = True
        self.staged = {}

    def save_rejected(self, source: str, rejected: Sequence[RejectedRecord]) -> str:
        self.rejected_saved.append((source, list(rejected)))
        return "/quarantine/ingest/ingest-1.jsonl"


class FakeFiles:
    def __init__(self) -> None:
        self.synthetic: list[tuple[Month, int]] = []

    def fetch(self, month: Month) -> str:
        return f"/raw/green_tripdata_{month}.parquet"

    def write_synthetic(self, month: Month, rows: int) -> str:
        self.synthetic.append((month, rows))
        return f"/raw/green_tripdata_{month}.parquet"


def _rows(month: Month | None, n: int) -> list[dict]:
    return [{"month": month} for _ in range(n)]


def _batch(rows: list[dict], rejected: tuple[RejectedRecord, ...] = ()) -> SourceBatch:
    return SourceBatch(rows, len(rows), rejected)


@pytest.fixture()
def parts() -> tuple[FakeLanding, FakeAudit, Ingestion]:
    landing, audit = FakeLanding(), FakeAudit()
    return landing, audit, Ingestion(landing, FakeFiles(), audit, FixedClock(), actor="tester")


def test_pull_lands_every_batch_acknowledges_once_and_audits_each_file(parts):
    landing, audit, ingestion = parts
    source = FakeSource([_batch(_rows(JAN, 3)), _batch(_rows(FEB, 2) + _rows(JAN, 1))])

    report = ingestion.pull(source)

    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (6, 6, 0)
    assert [(f.month, f.rows) for f in report.files] == [(JAN, 4), (FEB, 2)]
    assert source.acknowledged == 1 and not landing.aborted and landing.rejected_saved == []
    assert [(e.action, e.subject, e.actor, e.at) for e in audit.recorded] == [
        ("dataset.ingested", "dataset:/raw/green_tripdata_2021-01.parquet", "tester", NOW),
        ("dataset.ingested", "dataset:/raw/green_tripdata_2021-02.parquet", "tester", NOW),
    ]
    assert audit.recorded[0].details == {
        "source": "fake://trips",
        "month": "2021-01",
        "rows": "4",
        "rows_in_file": "4",
        "rows_read": "6",
        "rows_rejected": "0",
        "rejected": "",
    }


def test_rejected_records_from_source_and_landing_are_counted_kept_and_summed_by_reason(parts):
    landing, audit, ingestion = parts
    poison = (RejectedRecord("7-0", "JSONDecodeError: Expecting value"), RejectedRecord("8-0", "JSONDecodeError: x"))
    source = FakeSource([_batch(_rows(JAN, 2) + _rows(None, 1), poison)])

    report = ingestion.pull(source)

    assert (report.rows_read, report.rows_landed, report.rows_rejected) == (5, 2, 3)
    assert report.reasons == {"JSONDecodeError": 2, "missing_pickup_datetime": 1}
    assert report.rejected_path == "/quarantine/ingest/ingest-1.jsonl"
    saved_source, saved = landing.rejected_saved[0]
    assert saved_source == "fake://trips" and [r.record_id for r in saved] == ["7-0", "8-0", "row 2"]
    assert audit.recorded[0].details["rows_rejected"] == "3"
    assert audit.recorded[0].details["rejected"] == "/quarantine/ingest/ingest-1.jsonl"


def test_a_month_given_lands_every_row_in_that_month(parts):
    landing, _audit, ingestion = parts
    report = ingestion.pull(FakeSource([_batch(_rows(None, 3))]), JAN)
    assert [(f.month, f.rows) for f in report.files] == [(JAN, 3)]
    assert len(landing.landed[JAN]) == 3


def test_a_failure_midway_publishes_nothing_acknowledges_nothing_and_audits_nothing(parts):
    landing, audit, ingestion = parts
    source = FakeSource([_batch(_rows(JAN, 2)), _batch(_rows(JAN, 2))], fail_after=1)

    with pytest.raises(ConnectionError, match="source went away"):
        ingestion.pull(source)

    assert landing.aborted and landing.landed == {}
    assert source.acknowledged == 0 and audit.recorded == []


def test_max_batches_stops_reading(parts):
    _landing, _audit, ingestion = parts
    source = FakeSource([_batch(_rows(JAN, 1)) for _ in range(5)])
    report = ingestion.pull(source, max_batches=2)
    assert source.read == 2 and report.rows_landed == 2 and source.acknowledged == 1


def test_rows_lost_by_the_landing_store_are_a_bug_not_a_report():
    audit = FakeAudit()
    ingestion = Ingestion(FakeLanding(lose_rows=1), FakeFiles(), audit, FixedClock())
    with pytest.raises(IngestRowsUnaccountedError, match="3 records read but 2 landed"):
        ingestion.pull(FakeSource([_batch(_rows(JAN, 3))]))
    assert audit.recorded == []


def test_fetch_and_synthetic_months_are_audited():
    audit, files = FakeAudit(), FakeFiles()
    ingestion = Ingestion(FakeLanding(), files, audit, FixedClock())

    assert ingestion.fetch_month(JAN) == "/raw/green_tripdata_2021-01.parquet"
    assert ingestion.synthetic_month(FEB, 500) == "/raw/green_tripdata_2021-02.parquet"

    assert files.synthetic == [(FEB, 500)]
    assert [(e.action, e.details) for e in audit.recorded] == [
        ("dataset.ingested", {"source": "file", "month": "2021-01"}),
        ("dataset.ingested", {"source": "synthetic", "month": "2021-02", "rows": "500"}),
    ]


def test_a_failed_acknowledgement_still_leaves_the_landed_files_audited(parts):
    landing, audit, ingestion = parts

    class AckFails(FakeSource):
        def acknowledge(self) -> None:
            raise ConnectionError("stream server went away before the ack")

    with pytest.raises(ConnectionError):
        ingestion.pull(AckFails([_batch(_rows(JAN, 2))]))
    assert JAN in landing.landed  # landed: the source redelivers on the next run (at least once)
    assert [e.subject for e in audit.recorded] == ["dataset:/raw/green_tripdata_2021-01.parquet"]

"""The Validation service over in-memory fakes of its ports: row accounting, batches, publishing, audit."""

from __future__ import annotations

import pytest

from support.fakes_data import FixedClock, MemoryAudit, MemorySource, MemoryStore, RuleValidator
from tripcast.core.domain.month import Month
from tripcast.core.services.validation import RowsUnaccountedError, Validation

JAN, FEB = Month(2021, 1), Month(2021, 2)


def rows(good: int, bad: int) -> list[dict[str, int]]:
    return [{"minutes": 10} for _ in range(good)] + [{"minutes": -1} for _ in range(bad)]


def service(
    source: MemorySource,
    store: MemoryStore | None = None,
    validator: RuleValidator | None = None,
    batch_rows: int = 1_000,
) -> tuple[Validation, MemoryStore, MemoryAudit]:
    store = store if store is not None else MemoryStore()
    audit = MemoryAudit()
    validation = Validation(source, validator or RuleValidator(), store, audit, FixedClock(), batch_rows=batch_rows)
    return validation, store, audit


def test_validate_splits_every_row_across_batches_and_records_the_audit_event() -> None:
    source = MemorySource({JAN: rows(7, 3)})
    validation, store, audit = service(source, batch_rows=4)
    report = validation.validate(JAN, actor="alice")
    assert source.batch_sizes == [4, 4, 2]  # three batches, never the whole month at once
    assert (report.n_input, report.n_valid, report.n_quarantined) == (10, 7, 3)
    assert report.reasons == {"dropoff_not_after_pickup": 3}
    assert len(store.processed[JAN]) == 7 and len(store.quarantined[JAN]) == 3
    assert report.processed_path == "/mem/processed/2021-01.parquet"
    [event] = audit.recorded
    assert (event.actor, event.action, event.subject) == (
        "alice",
        "dataset.validated",
        "dataset:/mem/processed/2021-01.parquet",
    )
    assert event.at == FixedClock().at
    assert event.details == {
        "source": "memory://2021-01",
        "source_digest": "digest-2021-01",
        "rows_in": "10",
        "rows_valid": "7",
        "rows_quarantined": "3",
        "quarantine": "/mem/quarantine/2021-01.parquet",
    }


def test_reasons_are_summed_over_batches_and_sorted_by_count() -> None:
    source = MemorySource({JAN: rows(1, 5)})
    report = service(source, batch_rows=2)[0].validate(JAN)
    assert report.reasons == {"dropoff_not_after_pickup": 5}
    assert report.n_input == 6


def test_an_empty_month_publishes_empty_outputs_and_is_audited() -> None:
    validation, store, audit = service(MemorySource({JAN: []}))
    report = validation.validate(JAN)
    assert (report.n_input, report.n_valid, report.n_quarantined) == (0, 0, 0)
    assert store.processed[JAN] == [] and store.quarantined[JAN] == []
    assert [e.details["rows_in"] for e in audit.recorded] == ["0"]


def test_a_validator_that_loses_rows_publishes_nothing_and_records_nothing() -> None:
    validation, store, audit = service(MemorySource({JAN: rows(5, 1)}), validator=RuleValidator(lose_a_row=True))
    with pytest.raises(RowsUnaccountedError, match="6 input rows but 4 valid"):
        validation.validate(JAN)
    assert JAN not in store.processed
    assert store.aborted == [JAN]
    assert audit.recorded == []


def test_a_write_failure_mid_month_aborts_the_writer_and_records_nothing() -> None:
    store = MemoryStore(fail_on_batch=2)
    validation, _, audit = service(MemorySource({JAN: rows(6, 0)}), store=store, batch_rows=2)
    with pytest.raises(OSError, match="No space"):
        validation.validate(JAN)
    assert store.aborted == [JAN] and JAN not in store.processed
    assert audit.recorded == []


def test_ensure_processed_validates_only_months_not_processed_yet() -> None:
    source = MemorySource({JAN: rows(2, 0), FEB: rows(3, 1)})
    store = MemoryStore(processed={JAN: [{"minutes": 1}]})
    validation, _, audit = service(source, store=store)
    assert validation.ensure_processed(JAN) is None
    report = validation.ensure_processed(FEB, actor="bob")
    assert report is not None and report.n_valid == 3
    assert source.fetched == [FEB]
    assert [(e.actor, e.action) for e in audit.recorded] == [("bob", "dataset.validated")]

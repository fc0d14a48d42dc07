"""The feedback use case over in-memory fakes of its ports: ingest, replay, report, and their audit events."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from support.fakes_feedback import (
    FixedReplayer,
    ListActualsReader,
    ListPredictionLog,
    MemoryLogStore,
    RatioDecayCheck,
    RecordingGauges,
    logged,
)
from support.fakes_ml import FakeAudit, FakeClock
from support.fakes_serving import FactoryModelSource
from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import Actual
from tripcast.core.services.feedback import FEEDBACK_INGESTED, Feedback
from tripcast.core.services.prediction import Prediction

T0 = datetime(2021, 2, 1, 8, 0)
T1 = datetime(2021, 2, 2, 9, 0)


def service(
    store: MemoryLogStore,
    files: dict[str, list[Actual]] | None = None,
    replayer: FixedReplayer | None = None,
    decay: RatioDecayCheck | None = None,
    gauges: RecordingGauges | None = None,
) -> tuple[Feedback, FakeAudit]:
    audit = FakeAudit()
    feedback = Feedback(
        model_name="trip-duration",
        store=store,
        reader=ListActualsReader(files or {}),
        replayer=replayer,
        decay=decay,
        gauges=gauges,
        audit=audit,
        clock=FakeClock(),
    )
    return feedback, audit


@pytest.fixture
def store() -> MemoryLogStore:
    s = MemoryLogStore()
    s.write(
        [
            logged("a", "1", "Manhattan", 10.0, T0),
            logged("b", "1", "Queens", 20.0, T0),
            logged("c", "2", "Manhattan", 12.0, T1),
        ]
    )
    return s


def test_ingest_records_outcomes_and_audits_feedback_ingested(store: MemoryLogStore) -> None:
    feedback, audit = service(store, {"f.csv": [Actual("a", 12.0), Actual("b", 16.0)]})
    outcome = feedback.ingest("f.csv", actor="ana")
    assert outcome.rows == 2
    assert store.actuals == {"a": 12.0, "b": 16.0}
    [event] = audit.rows
    assert (event.action, event.actor, event.subject) == (FEEDBACK_INGESTED, "ana", "model:trip-duration")
    assert event.details["source"] == "f.csv" and event.details["rows"] == "2"


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([Actual("a", 12.0), Actual("zzz", 3.0)], "1 unknown request id(s) (e.g. 'zzz')"),
        ([Actual("a", -1.0)], "1 negative actual_minutes (e.g. 'a')"),
        ([Actual("a", math.nan)], "missing or non-finite actual_minutes"),
        ([Actual("a", 1.0), Actual("a", 2.0)], "1 duplicate request id(s) (e.g. 'a')"),
        ([], "no outcome rows"),
    ],
)
def test_bad_outcome_files_are_refused_whole_in_one_line(
    store: MemoryLogStore, rows: list[Actual], needle: str
) -> None:
    feedback, audit = service(store, {"bad.csv": rows})
    with pytest.raises(InvalidInputError) as raised:
        feedback.ingest("bad.csv")
    message = str(raised.value)
    assert needle in message and "\n" not in message and message.startswith("bad.csv:")
    assert store.actuals == {} and audit.rows == []  # nothing recorded, nothing audited


def test_report_gives_rmse_mae_bias_per_version_segment_and_window(store: MemoryLogStore) -> None:
    store.record_actuals([Actual("a", 12.0), Actual("b", 16.0), Actual("c", 12.0)], T1)
    gauges = RecordingGauges()
    feedback, _ = service(store, gauges=gauges)
    report = feedback.report(window="day")
    v1, v2 = report.by_version
    assert (v1.model_version, v1.n) == ("1", 2)
    assert v1.rmse == pytest.approx(math.sqrt((4 + 16) / 2))  # errors -2 and +4
    assert v1.mae == pytest.approx(3.0) and v1.bias == pytest.approx(1.0)
    assert (v2.model_version, v2.rmse) == ("2", 0.0)
    assert [(s.model_version, s.segment, s.n) for s in report.by_segment] == [
        ("1", "Manhattan", 1),
        ("1", "Queens", 1),
        ("2", "Manhattan", 1),
    ]
    assert [(s.model_version, s.window_start) for s in report.by_window] == [
        ("1", "2021-02-01T00:00:00"),
        ("2", "2021-02-02T00:00:00"),
    ]
    assert gauges.reports == [report]


def test_report_judges_concept_drift_per_version_through_the_decay_check(store: MemoryLogStore) -> None:
    store.record_actuals([Actual("a", 12.0), Actual("b", 16.0), Actual("c", 12.0)], T1)
    decay = RatioDecayCheck({"1": 2.0})  # v1 live RMSE 3.16 > 2.0 x 1.2; v2 has no validation RMSE
    feedback, _ = service(store, decay=decay)
    report = feedback.report()
    assert report.decay["1"]["decayed"] is True
    assert report.decay["1"]["n_joined"] == 2
    assert "no val_rmse" in report.decay["2"]["error"]
    assert [r.reference for r in decay.requests] == ["1", "2"]


def test_live_error_of_one_version_since_a_time(store: MemoryLogStore) -> None:
    store.record_actuals([Actual("a", 12.0), Actual("b", 16.0), Actual("c", 15.0)], T1)
    feedback, _ = service(store)
    v1 = feedback.live_error("1")
    assert v1 is not None and (v1.n, v1.mae) == (2, 3.0)
    v2 = feedback.live_error("2", since=T1)
    assert v2 is not None and (v2.n, v2.rmse) == (1, 3.0)
    assert feedback.live_error("1", since=T1) is None  # v1's predictions are all before T1
    assert feedback.live_error("9") is None


def test_report_refuses_an_unknown_window(store: MemoryLogStore) -> None:
    feedback, _ = service(store)
    with pytest.raises(InvalidInputError, match="window: must be one of hour, day, week"):
        feedback.report(window="fortnight")


def test_replay_logs_predictions_and_outcomes_once_and_audits_the_month() -> None:
    store = MemoryLogStore()
    predictions = [logged(f"replay:2021-02:{i}", "4", "Bronx", 10.0 + i, T0) for i in range(3)]
    actuals = [Actual(p.request_id, 11.0) for p in predictions]
    replayer = FixedReplayer(predictions, actuals)
    feedback, audit = service(store, replayer=replayer)
    first = feedback.replay(Month.parse("2021-02"), actor="ops")
    again = feedback.replay(Month.parse("2021-02"), actor="ops")
    assert (first.predictions_logged, first.rows, again.predictions_logged) == (3, 3, 0)  # idempotent
    assert store.count() == 3 and store.actuals[predictions[2].request_id] == 11.0
    assert replayer.calls[0] == (Month.parse("2021-02"), "champion")
    assert audit.rows[0].details["month"] == "2021-02" and audit.rows[0].action == FEEDBACK_INGESTED


def test_replay_of_a_month_without_valid_rows_changes_nothing() -> None:
    store = MemoryLogStore()
    feedback, audit = service(store, replayer=FixedReplayer([], []))
    with pytest.raises(InvalidInputError, match="2021-02 has no valid rows"):
        feedback.replay(Month.parse("2021-02"))
    assert store.count() == 0 and audit.rows == []


class Model:
    model_name = "trip-duration"
    model_version = "3"
    cpu_only = True

    def predict_trips(self, requests: list[TripRequest]) -> list[float]:
        return [10 + r.trip_distance for r in requests]


def trip(miles: float) -> TripRequest:
    return TripRequest(datetime(2021, 2, 1, 8, 30), 74, 75, miles, None, None)


def test_prediction_hands_every_answer_to_the_log_with_its_request_id() -> None:
    log = ListPredictionLog()
    prediction = Prediction(FactoryModelSource(Model), log=log)
    served = prediction.predict([trip(1), trip(2)], request_ids=["r1", "r2"])
    assert served.request_ids == ("r1", "r2")
    [(name, version, ids, _requests, minutes)] = log.batches
    assert (name, version, ids, minutes) == ("trip-duration", "3", ("r1", "r2"), [11.0, 12.0])
    generated = prediction.predict([trip(3)]).request_ids
    assert len(generated) == 1 and log.batches[1][2] == generated
    batch_ids = prediction.predict([trip(1), trip(2)]).request_ids
    assert len(set(batch_ids + generated)) == 3  # never repeated
    batch_id = batch_ids[0].rsplit(".", 1)[0]
    assert batch_ids == (f"{batch_id}.0", f"{batch_id}.1")  # one short id names the whole batch


def test_a_failing_prediction_log_never_fails_a_prediction() -> None:
    served = Prediction(FactoryModelSource(Model), log=ListPredictionLog(fail=True)).predict([trip(1)])
    assert served.minutes == [11.0]


def test_without_a_log_no_request_ids_are_made() -> None:
    assert Prediction(FactoryModelSource(Model)).predict([trip(1)]).request_ids == ()

"""The prediction use case over in-memory fakes of its ports (tripcast.core.ports.serving).

Predicting changes no data and no model, so it writes no audit event: these tests check the answers, the
metrics, the cache and the drift window it drives. Reloading the served model does change what answers,
and is audited (the last tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from support.fakes_serving import (
    CountingFeatures,
    DictCache,
    FactoryModelSource,
    FakeRefresh,
    RecordingDriftWindow,
    RecordingMetrics,
)
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import ModelNotLoadedError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import MODEL_RELOADED, ModelReload, Prediction


class DistanceModel:
    """Minutes = 10 + 2 x miles; counts how it was called."""

    model_name = "trip-duration"
    model_version = "3"
    cpu_only = True

    def __init__(self) -> None:
        self.trip_calls: list[int] = []
        self.feature_calls: list[int] = []

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        self.trip_calls.append(len(requests))
        return [10 + 2 * r.trip_distance for r in requests]

    def predict_features(self, rows: Any) -> list[float]:
        self.feature_calls.append(len(rows))
        return [10 + 2 * row[0] for row in rows]


def trip(miles: float) -> TripRequest:
    return TripRequest(datetime(2021, 2, 1, 8, 30), 74, 75, miles, None, None)


@pytest.fixture
def model() -> DistanceModel:
    return DistanceModel()


def test_predicts_each_request_in_order_tagged_with_the_served_version(model: DistanceModel) -> None:
    metrics = RecordingMetrics()
    served = Prediction(FactoryModelSource(lambda: model), metrics=metrics).predict([trip(1), trip(2.5)])
    assert served.minutes == [12.0, 15.0]
    assert (served.model.name, served.model.number) == ("trip-duration", "3")
    assert [(p.minutes, p.model_version) for p in served.as_predictions()] == [(12.0, "3"), (15.0, "3")]
    assert metrics.served_counts == [("trip-duration", "3", 2)]
    assert metrics.answered == [("trip-duration", "3", 2)]
    assert metrics.cache == []  # no cache: no cache counts


def test_predict_one_returns_the_domain_prediction(model: DistanceModel) -> None:
    prediction = Prediction(FactoryModelSource(lambda: model)).predict_one(trip(4))
    assert (prediction.minutes, prediction.model_name, prediction.model_version) == (18.0, "trip-duration", "3")


def test_nothing_served_raises_model_not_loaded() -> None:
    with pytest.raises(ModelNotLoadedError):
        Prediction(FactoryModelSource(None)).predict([trip(1)])


def test_cache_hits_skip_the_model_and_misses_are_stored(model: DistanceModel) -> None:
    cache, metrics = DictCache(), RecordingMetrics()
    cache.entries[("trip-duration", "3", trip(2))] = 99.0  # planted: proves the hit path
    prediction = Prediction(FactoryModelSource(lambda: model), cache=cache, metrics=metrics)
    served = prediction.predict([trip(1), trip(2), trip(3)])
    assert served.minutes == [12.0, 99.0, 16.0] and served.cache_hits == 1
    assert model.trip_calls == [2]  # only the misses reached the model
    assert cache.entries[("trip-duration", "3", trip(3))] == 16.0
    assert metrics.cache == [(1, 2)] and metrics.answered == [("trip-duration", "3", 2)]
    assert metrics.served_counts == [("trip-duration", "3", 3)]


def test_all_hits_never_call_the_model(model: DistanceModel) -> None:
    cache = DictCache()
    prediction = Prediction(FactoryModelSource(lambda: model), cache=cache)
    prediction.predict([trip(1)])
    served = prediction.predict([trip(1)])
    assert served.minutes == [12.0] and served.cache_hits == 1 and model.trip_calls == [1]


def test_a_broken_cache_degrades_to_predictions_and_is_counted(model: DistanceModel) -> None:
    metrics = RecordingMetrics()
    prediction = Prediction(FactoryModelSource(lambda: model), cache=DictCache(broken=True), metrics=metrics)
    assert prediction.predict([trip(1), trip(2)]).minutes == [12.0, 14.0]
    assert metrics.cache_failures == 2  # the read and the write


def test_with_a_drift_window_features_are_built_once_and_shared(model: DistanceModel) -> None:
    features, window = CountingFeatures(), RecordingDriftWindow()
    prediction = Prediction(FactoryModelSource(lambda: model), drift=window, features=features)
    served = prediction.predict([trip(1), trip(2)])
    assert served.minutes == [12.0, 14.0]
    assert features.built == 2  # once per request
    assert model.feature_calls == [2] and model.trip_calls == []  # the model predicted from those rows
    assert not prediction.drift_follows(served.model)
    prediction.observe_drift(served)
    assert window.followed == [("trip-duration", "3")]  # followed the served version first
    assert window.rows == [[1], [2]] and window.predictions == [12.0, 14.0]  # the very same rows
    assert features.built == 2  # observing built nothing again
    assert prediction.drift_follows(served.model)


def test_without_a_drift_window_the_model_builds_its_own_features(model: DistanceModel) -> None:
    served = Prediction(FactoryModelSource(lambda: model), features=CountingFeatures()).predict([trip(1)])
    assert served.feature_rows is None and model.trip_calls == [1]


def test_a_drift_window_needs_the_feature_rows() -> None:
    with pytest.raises(ValueError, match="feature builder"):
        Prediction(FactoryModelSource(None), drift=RecordingDriftWindow())


def test_a_failing_drift_window_never_fails_the_prediction(model: DistanceModel) -> None:
    window = RecordingDriftWindow()
    window.fail_observe = True
    prediction = Prediction(FactoryModelSource(lambda: model), drift=window, features=CountingFeatures())
    served = prediction.predict([trip(1)])
    prediction.observe_drift(served)  # logged, not raised
    assert served.minutes == [12.0] and window.rows == []


def test_evaluate_drift_follows_the_served_version_then_tests(model: DistanceModel) -> None:
    window = RecordingDriftWindow()
    prediction = Prediction(FactoryModelSource(lambda: model), drift=window, features=CountingFeatures())
    prediction.evaluate_drift()
    assert window.followed == [("trip-duration", "3")] and window.evaluations == 1


def test_inline_only_for_small_cpu_only_requests_with_an_in_process_cache(model: DistanceModel) -> None:
    source = FactoryModelSource(lambda: model)
    assert Prediction(source, inline_max_requests=4).answers_inline(4)
    assert not Prediction(source, inline_max_requests=4).answers_inline(5)
    assert not Prediction(source).answers_inline(1)  # limit 0: always a worker thread
    io_cache = DictCache()
    io_cache.performs_io = True
    assert not Prediction(source, cache=io_cache, inline_max_requests=4).answers_inline(1)
    assert not Prediction(FactoryModelSource(None), inline_max_requests=4).answers_inline(1)


def test_non_finite_minutes_pass_through_for_the_caller_to_judge(model: DistanceModel) -> None:
    # The stream consumer dead-letters them; the service reports what the model said.
    model.predict_trips = lambda requests: [math.nan for _ in requests]  # type: ignore[method-assign]
    served = Prediction(FactoryModelSource(lambda: model)).predict([trip(1)])
    assert math.isnan(served.minutes[0])


# ------------------------------------------------------------------------------------------ reloading, audited
class RecordingAudit:
    """The audit port in memory."""

    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(self, subject_prefix: str = "", limit: int = 100, actions: Any = None) -> list[AuditEvent]:
        return [e for e in self.recorded if e.subject.startswith(subject_prefix)][:limit]


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 7, 4, 30, tzinfo=UTC)


class AliasSource(FactoryModelSource):
    """Serves version ``alias``; a refresh picks up a new value of it (as a moved registry alias)."""

    def __init__(self, version: str | None) -> None:
        super().__init__(None)
        self.alias, self.loaded = version, None
        self.sync()

    def sync(self) -> None:
        if self.alias is None:
            return
        model = DistanceModel()
        model.model_version = self.alias
        self.loaded = model  # type: ignore[assignment]
        self.factory = lambda: model

    def refresh(self, *, force: bool = False) -> Any:
        before = self.loaded.model_version if self.loaded is not None else None
        self.sync()
        after = self.loaded.model_version if self.loaded is not None else None
        return FakeRefresh(changed=force or before != after, version=after)


def test_a_reload_that_swaps_the_version_is_audited_with_who_asked() -> None:
    source, audit = AliasSource("3"), RecordingAudit()
    control = ModelReload(source, audit, FixedClock())
    source.alias = "4"
    outcome = control.reload(actor="ops-alice")
    assert outcome.changed and outcome.version == "4"
    [event] = audit.recorded
    assert (event.action, event.actor, event.subject) == (MODEL_RELOADED, "ops-alice", "model:trip-duration")
    assert event.details == {"version": "4", "forced": "false", "previous_version": "3"}
    assert event.at == FixedClock().now()


def test_a_reload_that_changes_nothing_records_nothing() -> None:
    source, audit = AliasSource("3"), RecordingAudit()
    outcome = ModelReload(source, audit, FixedClock()).reload(actor="ops-alice")
    assert not outcome.changed and audit.recorded == []


def test_a_forced_reload_is_audited_even_on_the_same_version() -> None:
    source, audit = AliasSource("3"), RecordingAudit()
    ModelReload(source, audit, FixedClock()).reload(force=True, actor="env:TRIPCAST_API_TOKEN")
    assert [(e.action, e.details["forced"]) for e in audit.recorded] == [(MODEL_RELOADED, "true")]

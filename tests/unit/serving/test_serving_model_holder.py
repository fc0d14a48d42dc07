"""The model holder: champion at start-up, atomic swaps, failures keep the previous model."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tripcast.core.domain.trip import TripRequest
from tripcast.mlops.serving.real_time import ModelHolder, ModelNotLoadedError, ServingMetrics


def wait_until(predicate: Any, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_loads_the_champion(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    assert holder.current is None
    outcome = holder.refresh()
    assert outcome.changed and outcome.version == "1"
    assert holder.require().predictor.model_version == "1"


def test_without_alias_nothing_is_served_and_the_reason_is_kept(fake_registry: Any) -> None:
    fake_registry.aliases.clear()
    holder = ModelHolder(fake_registry, "trip-duration")
    assert holder.refresh().changed is False
    with pytest.raises(ModelNotLoadedError, match="no 'champion' alias"):
        holder.require()


def test_unchanged_alias_does_not_reload(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    holder.refresh()
    assert fake_registry.loads == ["1"]
    holder.refresh(force=True)
    assert fake_registry.loads == ["1", "1"]


def test_failed_load_is_counted_and_previous_keeps_serving(fake_registry: Any) -> None:
    metrics = ServingMetrics()
    holder = ModelHolder(fake_registry, "trip-duration", metrics=metrics)
    holder.refresh()
    fake_registry.add("2", alias="champion")
    fake_registry.broken.add("2")
    outcome = holder.refresh()
    assert not outcome.changed and outcome.version == "1" and "corrupt" in (outcome.error or "")
    assert holder.require().number == "1"
    assert metrics.model_reloads.labels("failure")._value.get() == 1
    assert holder.last_error and "corrupt" in holder.last_error


def test_registry_outage_keeps_serving(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()

    def down(name: str, alias: str) -> None:
        raise ConnectionError("registry unreachable")

    fake_registry.find_alias = down
    fake_registry.alias_version = down  # an outage fails the poll's cheap lookup as well
    assert "unreachable" in (holder.refresh().error or "")
    assert holder.require().number == "1"


def test_poller_follows_alias_changes(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration", poll_seconds=0.02)
    holder.start()
    try:
        assert holder.require().number == "1"
        fake_registry.add("2", alias="champion")
        assert wait_until(lambda: holder.require().number == "2")
    finally:
        holder.stop()
    fake_registry.add("3", alias="champion")
    time.sleep(0.1)
    assert holder.require().number == "2"  # stopped: no more swaps


def test_a_request_in_progress_finishes_on_the_version_it_started_with(fake_registry: Any) -> None:
    """The swap replaces the reference; a reader holding the old snapshot is unaffected."""
    from tripcast.mlops.serving.real_time import PredictionService

    gate = threading.Event()
    fake_registry.delay = gate
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    fake_registry.delay = None
    service = PredictionService(holder)
    request = TripRequest.create(
        pickup_datetime=__import__("datetime").datetime(2021, 2, 1), pickup_zone=1, dropoff_zone=2, trip_distance=1.0
    )
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.setdefault("served", service.predict([request])))
    worker.start()
    fake_registry.add("2", alias="champion")
    holder.refresh()  # swaps while the first request is blocked inside the old predictor
    gate.set()
    worker.join(5)
    served = result["served"]
    assert served.model.number == "1" and served.minutes == [103.0]
    assert service.predict([request]).model.number == "2"


def test_an_unchanged_alias_is_confirmed_with_the_cheap_lookup_only(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    described: list[str] = []
    full_lookup = fake_registry.find_alias

    def counting_find_alias(name: str, alias: str) -> Any:
        described.append(alias)
        return full_lookup(name, alias)

    fake_registry.find_alias = counting_find_alias
    assert holder.refresh().changed is False
    assert described == []  # the poll did not describe the version again
    fake_registry.add("2", alias="champion")
    assert holder.refresh().changed is True
    assert described == ["champion"] and holder.require().number == "2"

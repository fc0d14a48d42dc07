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
    from tripcast.core.services.prediction import Prediction

    gate = threading.Event()
    fake_registry.delay = gate
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    fake_registry.delay = None
    service = Prediction(holder)
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


# registry outages: fixed reasons, one warning per outage, capped backoff, a registry built on first use ----------


def test_not_ready_reason_is_a_fixed_sentence_never_the_error_text(fake_registry: Any) -> None:
    from tripcast.mlops.serving.real_time.model_holder import REGISTRY_UNREACHABLE

    def down(name: str, alias: str) -> None:
        raise ConnectionError("postgresql://mlflow:hunter2@db.internal:5432/mlflow refused")

    fake_registry.find_alias = down
    holder = ModelHolder(fake_registry, "trip-duration")
    assert holder.not_ready_reason == "model not loaded yet"
    holder.refresh()
    assert holder.not_ready_reason == REGISTRY_UNREACHABLE == "model registry unreachable; retrying"
    with pytest.raises(ModelNotLoadedError) as raised:
        holder.require()
    assert "hunter2" not in str(raised.value) and "db.internal" not in str(raised.value)
    assert str(raised.value).endswith(REGISTRY_UNREACHABLE)


def test_a_failed_load_gives_a_fixed_reason_unless_the_error_is_our_own_message(fake_registry: Any) -> None:
    from tripcast.core.domain.errors import TripcastError

    fake_registry.broken.add("1")
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    assert holder.not_ready_reason == "the model version could not be loaded; retrying"
    assert "corrupt" in (holder.last_error or "")  # the detail stays with the operator's log and reload answer

    def mismatched(name: str, version: str) -> Any:
        raise TripcastError(f"{name} v{version} takes inputs ['a', 'b'], this server builds ['a']")

    holder = ModelHolder(fake_registry, "trip-duration", loader=mismatched)
    holder.refresh()
    assert holder.not_ready_reason == (
        "the model version could not be loaded: trip-duration v1 takes inputs ['a', 'b'], this server builds ['a']; "
        "retrying"
    )


def test_a_registry_outage_logs_one_masked_warning_and_one_line_when_it_ends(
    fake_registry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    holder = ModelHolder(fake_registry, "trip-duration")
    holder.refresh()
    working = fake_registry.alias_version

    def down(name: str, alias: str) -> None:
        raise ConnectionError("cannot reach postgresql+psycopg://mlflow:hunter2@db:5432/mlflow\n  Traceback-ish detail")

    fake_registry.alias_version = down
    with caplog.at_level("DEBUG", logger="tripcast.mlops.serving.real_time.model_holder"):
        for _ in range(5):
            assert holder.refresh().error == "model registry unreachable; retrying"
        fake_registry.alias_version = working
        holder.refresh()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2, warnings
    assert "unreachable" in warnings[0] and "still serving v1" in warnings[0]
    assert "mlflow:***@db" in warnings[0] and "hunter2" not in caplog.text and "\n" not in warnings[0]
    assert warnings[1] == "model registry reachable again"
    assert holder.require().number == "1"


def test_retries_back_off_exponentially_up_to_the_cap(fake_registry: Any) -> None:
    def down(name: str, alias: str) -> None:
        raise ConnectionError("down")

    fake_registry.find_alias = down
    holder = ModelHolder(fake_registry, "trip-duration", poll_seconds=10, max_retry_seconds=60)
    assert holder.retry_delay() == 10
    delays = []
    for _ in range(8):
        holder.refresh()
        delays.append(holder.retry_delay())
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]  # nothing served: start fast, then back off


def test_a_serving_holder_backs_off_from_the_poll_interval_and_resets_on_success(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration", poll_seconds=10, max_retry_seconds=60)
    holder.refresh()
    working = fake_registry.alias_version

    def down(name: str, alias: str) -> None:
        raise ConnectionError("down")

    fake_registry.alias_version = down
    delays = []
    for _ in range(4):
        holder.refresh()
        delays.append(holder.retry_delay())
    assert delays == [10, 20, 40, 60]
    fake_registry.alias_version = working
    holder.refresh()
    assert holder.retry_delay() == 10


def test_deferred_registry_builds_once_the_probe_passes_and_the_poller_gets_ready(fake_registry: Any) -> None:
    from tripcast.mlops.serving.real_time.deferred_registry import DeferredRegistry, RegistryUnavailableError

    database_up = threading.Event()
    builds: list[int] = []

    def probe() -> None:
        if not database_up.is_set():
            raise ConnectionRefusedError("connection refused")

    def build() -> Any:
        builds.append(1)
        return fake_registry

    deferred = DeferredRegistry(build, probe)
    with pytest.raises(RegistryUnavailableError, match=r"^model registry unreachable$") as raised:
        deferred.alias_version("trip-duration", "champion")
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)  # for the log, not for clients
    assert builds == [] and not deferred.connected
    holder = ModelHolder(deferred, "trip-duration", poll_seconds=0.02, max_retry_seconds=0.05)
    holder.start()
    try:
        assert holder.current is None and holder.not_ready_reason == "model registry unreachable; retrying"
        database_up.set()
        assert wait_until(lambda: holder.current is not None, 5)
    finally:
        holder.stop()
    assert builds == [1] and deferred.connected and holder.require().number == "1"


def test_probe_of_a_database_nobody_listens_on_fails_fast_and_sqlite_is_not_probed(tmp_path: Any) -> None:
    import socket

    from tripcast.mlops.serving.real_time.deferred_registry import probe_tracking_store

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(Exception, match=r"refused|failed"):
        probe_tracking_store(f"postgresql+psycopg://u:pw@127.0.0.1:{port}/mlflow", timeout_seconds=2)
    assert time.monotonic() - started < 3
    probe_tracking_store(f"sqlite:///{tmp_path / 'never-created.db'}")
    assert not (tmp_path / "never-created.db").exists()


def test_mlflow_database_error_records_are_dropped_from_server_logs() -> None:
    import logging

    from tripcast.mlops.serving.real_time.deferred_registry import quiet_registry_outage_logs

    quiet_registry_outage_logs()
    quiet_registry_outage_logs()  # idempotent
    logger = logging.getLogger("mlflow.store.db.utils")
    assert len(logger.filters) == 1
    dropped = logging.LogRecord(logger.name, logging.ERROR, __file__, 1, "SQLAlchemy database error. %s", ("x",), None)
    kept = logging.LogRecord(logger.name, logging.INFO, __file__, 1, "Creating initial MLflow tables", (), None)
    assert not logger.filters[0].filter(dropped) and logger.filters[0].filter(kept)  # type: ignore[union-attr]


def test_start_without_loading_now_leaves_the_first_look_to_the_poller(fake_registry: Any) -> None:
    holder = ModelHolder(fake_registry, "trip-duration", poll_seconds=0.5)
    holder.start(load_now=False)
    try:
        assert fake_registry.loads == []  # the caller (the app's lifespan) just loaded in its thread pool
        assert wait_until(lambda: holder.current is not None)
    finally:
        holder.stop()


def test_a_champion_that_keeps_failing_to_load_is_retried_with_backoff_not_every_second(fake_registry: Any) -> None:
    fake_registry.broken.add("1")
    holder = ModelHolder(fake_registry, "trip-duration", poll_seconds=10, max_retry_seconds=60)
    delays = []
    for _ in range(5):
        holder.refresh()
        delays.append(holder.retry_delay())
    assert delays == [1, 2, 4, 8, 16]  # the registry answers each time; the load keeps failing
    fake_registry.broken.clear()
    holder.refresh()
    assert holder.current is not None and holder.retry_delay() == 10

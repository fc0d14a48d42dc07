"""Fixtures shared by every test tier: real data location, throwaway databases and key prefixes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path | None:
    candidates = [os.environ.get("TRIPCAST_SHARED_DATA", ""), str(REPO_ROOT.parent / "shared" / "data" / "nyc-taxi")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "green_tripdata_2021-01.parquet").exists():
            return Path(candidate)
    return None


SHARED_DATA = _shared_data_dir()


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _fail_skip_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which needs every prerequisite: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under ``CI=true`` a skip is a failure: a missing prerequisite (data, promtool, a server) must not
    turn a red build green by skipping the tests that needed it."""
    outcome = yield
    _fail_skip_under_ci(outcome.get_result())  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped while collected (``pytest.importorskip("pyspark")`` or
    ``pytest.skip(..., allow_module_level=True)`` at module level), which never reaches a test report."""
    outcome = yield
    _fail_skip_under_ci(outcome.get_result())  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real TLC files (green 2021-01..03 and the zone lookup); skips when absent."""
    if SHARED_DATA is None:
        pytest.skip("real TLC data not found beside the repo (../shared/data/nyc-taxi)")
    return SHARED_DATA


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, dropped after the test."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    admin_url = os.environ.get(
        "TRIPCAST_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tripcast_test_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means the server is not there
        engine.dispose()
        pytest.fail(f"PostgreSQL at {admin_url} is not reachable: {exc}")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture()
def redis_url() -> str:
    """URL of the Redis server on this machine."""
    return os.environ.get("TRIPCAST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture()
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url)
    prefix = f"tripcast-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def _restore_mlflow_global_uris() -> Iterator[None]:
    """MLflow keeps the tracking/registry URI in globals and env vars; no test may leak its store to the next."""
    from tripcast.mlops.tracking.mlflow_uris import preserved_mlflow_uris

    with preserved_mlflow_uris():
        yield


#: PROMETHEUS_MULTIPROC_DIR as the session found it (normally unset).
_SESSION_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


@pytest.fixture(autouse=True)
def _no_inherited_prometheus_multiproc_dir() -> Iterator[None]:
    """Feast's metrics module sets PROMETHEUS_MULTIPROC_DIR in this process when first imported; a server a
    later test spawns with this environment would start in multiprocess mode (no exemplars, merged files)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != _SESSION_MULTIPROC_DIR:
        if _SESSION_MULTIPROC_DIR is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = _SESSION_MULTIPROC_DIR
    yield

"""Fault injection against a real `tripcast serve` process: compiled-model reloads and rollbacks under
load, a tampered compiled library, and the registry database down at start or dropped while serving.

The server runs as a subprocess so that a crash (a segfault in a reloaded shared library) shows as the
process dying, not as a test runner crash. Two small LightGBM versions trained on real January trips are
compiled with tl2cgen once per module; the PostgreSQL cases reach the shared server on 5432 through a TCP
proxy this test starts and stops (the shared server itself is never stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow.tracking import MlflowClient

from support.real_models import register_lightgbm_versions, validated_january
from support.serve_process import free_port, stop_process, wait_until_serving
from tripcast.mlops.serving.optimization.artifact import ARTIFACT_TAG, optimize_model_version

MODEL_NAME = "trip-duration"
TOKEN = "faults-token-0123456789abcdef"
TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}
DB_PASSWORD = "s3cret-registry-pw"


def _require(condition: bool, why: str) -> None:
    """Skip locally when a prerequisite is missing; under CI=true that is a failure, never a skip."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"prerequisite missing: {why}")
    pytest.skip(why)


def wait_for(predicate: Callable[[], Any], limit: float, what: str) -> Any:
    deadline = time.monotonic() + limit
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {limit:g} s waiting for {what}: {last!r}")


# ---------------------------------------------------------------------------------------- registries


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    root: Path
    versions: tuple[str, ...]


def _train_and_register(shared_data_dir: Path, tracking_uri: str, root: Path, rounds: tuple[int, ...]) -> list[str]:
    trips = validated_january(shared_data_dir).valid.head(5000)
    one_thread = {"num_threads": 1}
    artifacts = root / "artifacts"
    made = register_lightgbm_versions(
        trips, tracking_uri, artifacts, rounds=rounds, experiment="faults", params=one_thread, champion=0
    )
    return made.versions


@pytest.fixture(scope="module")
def compiled_registry(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A SQLite registry with versions 1, 2 and 3 (different models), each with a published compiled library
    (version 3 is the one the tampering test swaps, never served before it)."""
    _require(shutil.which("gcc") is not None, "gcc is needed to compile models with tl2cgen")
    root = tmp_path_factory.mktemp("faults-serving")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    versions = _train_and_register(shared_data_dir, tracking_uri, root, (8, 16, 12))
    for version in versions:
        optimize_model_version(tracking_uri, MODEL_NAME, version, compiler_options=("-O0",), parallel_units=2)
    return Registry(tracking_uri, root, tuple(versions))


@pytest.fixture(scope="module")
def postgres_registry(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A fresh database on the shared PostgreSQL holding a champion (the tracking URI carries a password
    that trust authentication ignores, so tests can check it never shows)."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    admin_url = os.environ.get(
        "TRIPCAST_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tripcast_faults_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means the server is not there
        engine.dispose()
        _require(False, f"PostgreSQL at {admin_url} is not reachable: {exc}")
    root = tmp_path_factory.mktemp("faults-serving-pg")
    try:
        tracking_uri = f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:5432/{name}"
        versions = _train_and_register(shared_data_dir, tracking_uri, root, (6,))
        yield Registry(tracking_uri, root, tuple(versions))
    finally:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


# ---------------------------------------------------------------------------------------- the server


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def died(self) -> str:
        return f"server exited with {self.process.returncode}; stderr tail:\n{self.stderr[-3000:]}"


@contextlib.contextmanager
def tripcast_serve(tracking_uri: str, data_dir: Path, *, wait_ready: bool = True) -> Iterator[Server]:
    """`tripcast serve` as an operator starts it, in a subprocess on a free port; stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "TRIPCAST_ENV": "local",
        "TRIPCAST_DATA_DIR": str(data_dir),
        "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
        "TRIPCAST_MODEL_NAME": MODEL_NAME,
        "TRIPCAST_REGISTRY_POLL_SECONDS": "0.2",
        "TRIPCAST_API_TOKEN": TOKEN,
        # These tests count failed answers; shedding on loop lag measures the (shared, busy) host instead.
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
        "TRIPCAST_MAX_IN_FLIGHT": "64",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = data_dir / f"server-{port}.stderr"
    command = [
        sys.executable, "-c", "from tripcast.cli.serving import app; app()",
        "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    server = Server(process, f"http://127.0.0.1:{port}", stderr_path)
    try:

        def up(path: str) -> bool:
            assert server.alive(), server.died()
            return httpx.get(f"{server.base}{path}", timeout=2).status_code == 200

        # Listening means this process owns the port: a stray server on it must not pass for ours.
        wait_until_serving(process, port, lambda: up("/health/live"), log=stderr_path, seconds=60)
        if wait_ready:
            wait_for(lambda: up("/health/ready"), 60, "the server to load the champion")
        yield server
    finally:
        stop_process(process)


@dataclass
class Load:
    """A client thread sending single-trip predictions back to back over one keep-alive connection."""

    base: str
    answers: list[tuple[float, int, str | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/v1/predictions", json=TRIP)
                    version = response.json().get("model_version") if response.status_code == 200 else None
                    self.answers.append((time.monotonic(), response.status_code, version))
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    self.answers.append((time.monotonic(), 0, None))
                    time.sleep(0.05)

    def failed(self) -> list[tuple[float, int, str | None]]:
        return [answer for answer in self.answers if answer[1] != 200]

    def versions_since(self, moment: float) -> list[str | None]:
        return [version for at, _, version in self.answers if at >= moment]


def mapped_files(server: Server) -> set[str]:
    """Files the server process has mapped (a dlopen-ed library shows here)."""
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    return {line.split(None, 5)[5] for line in maps.splitlines() if len(line.split(None, 5)) == 6 and "/" in line}


def published_libraries(registry: Registry) -> set[str]:
    """sha256 of every compiled library in the registry's artifact store."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (registry.root / "artifacts").rglob("*.so")}


def compiled_in_process(server: Server, published: set[str]) -> bool:
    """Whether the server has one of the published compiled libraries loaded."""
    for path in mapped_files(server):
        if path.endswith(".so"):
            with contextlib.suppress(OSError):
                if hashlib.sha256(Path(path).read_bytes()).hexdigest() in published:
                    return True
    return False


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def _predict(client: httpx.Client) -> dict[str, Any]:
    response = client.post("/v1/predictions", json=TRIP)
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---------------------------------------------------------------------------------------- compiled models
# One server for the three cases (starting one costs seconds): each test moves the alias where it needs it.


@pytest.fixture(scope="module")
def compiled_server(compiled_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    MlflowClient(compiled_registry.tracking_uri).set_registered_model_alias(
        MODEL_NAME, "champion", compiled_registry.versions[0]
    )
    with tripcast_serve(compiled_registry.tracking_uri, tmp_path_factory.mktemp("compiled-server")) as server:
        yield server


def _serve_version(registry: Registry, server: Server, version: str) -> None:
    """Move the champion alias to ``version`` and wait until the server answers with it."""
    MlflowClient(registry.tracking_uri).set_registered_model_alias(MODEL_NAME, "champion", version)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        wait_for(lambda: _predict(client)["model_version"] == version, 30, f"the server to serve v{version}")


@pytest.mark.slow
def test_forced_reload_twice_of_a_compiled_version_keeps_the_server_alive_and_answering(
    compiled_registry: Registry, compiled_server: Server
) -> None:
    server = compiled_server
    _serve_version(compiled_registry, server, compiled_registry.versions[0])
    with httpx.Client(base_url=server.base, timeout=30) as client:
        compiled = published_libraries(compiled_registry)
        assert compiled_in_process(server, compiled), "the compiled library was not loaded: nothing to test"
        first = _predict(client)
        for _ in range(3):
            reload = client.post("/v1/models/reload", params={"force": "true"}, headers=_auth())
            assert server.alive(), server.died()
            assert reload.status_code == 200, reload.text
            assert reload.json()["changed"] is True
            again = _predict(client)
            assert again["minutes"] == pytest.approx(first["minutes"])
        time.sleep(0.5)
        assert server.alive(), server.died()
        assert compiled_in_process(server, compiled)
        assert "Traceback" not in server.stderr


@pytest.mark.slow
def test_champion_moved_v1_v2_v1_under_load_fails_no_request_and_answers_follow_the_alias(
    compiled_registry: Registry, compiled_server: Server
) -> None:
    server = compiled_server
    v1, v2 = compiled_registry.versions[:2]
    _serve_version(compiled_registry, server, v1)
    client = MlflowClient(compiled_registry.tracking_uri)
    with Load(server.base) as load, httpx.Client(base_url=server.base, timeout=30) as operator:
        for target in (v2, v1, v2, v1):
            client.set_registered_model_alias(MODEL_NAME, "champion", target)
            moved = time.monotonic()
            wait_for(lambda t=target, m=moved: t in load.versions_since(m), 30, f"answers from v{target}")
            # A forced reload of the same version while requests keep coming.
            assert operator.post("/v1/models/reload", params={"force": "true"}, headers=_auth()).status_code == 200
            settled = time.monotonic()
            time.sleep(0.3)
            assert set(load.versions_since(settled)) == {target}, "answers went back to the old version"
            assert server.alive(), server.died()
    assert load.failed() == [], (load.failed()[:5], load.errors[:5], server.stderr[-2000:])
    assert len(load.answers) > 50
    assert "Traceback" not in server.stderr


@pytest.mark.slow
def test_compiled_library_whose_bytes_differ_from_the_recorded_checksum_is_refused_and_the_server_answers(
    compiled_registry: Registry, compiled_server: Server
) -> None:
    server = compiled_server
    v1, _, v3 = compiled_registry.versions
    client = MlflowClient(compiled_registry.tracking_uri)
    described = client.get_model_version(MODEL_NAME, v3)
    run_artifacts = Path(client.get_run(described.run_id).info.artifact_uri.removeprefix("file://"))
    library = run_artifacts / described.tags[ARTIFACT_TAG]
    original = library.read_bytes()
    # Someone with write access to the artifact store swaps in other code: here v1's library with a few
    # bytes appended (still a loadable library, and bytes no other version has, so a mapping shows it).
    other = run_artifacts.parent.parent / client.get_model_version(MODEL_NAME, v1).run_id
    swapped = next((other / "artifacts").rglob("*.so")).read_bytes() + b"\0tampered"
    swapped_sha = hashlib.sha256(swapped).hexdigest()
    try:
        library.write_bytes(swapped)
        _serve_version(compiled_registry, server, v3)
        with httpx.Client(base_url=server.base, timeout=30) as http:
            current = http.get("/v1/models/current", headers=_auth()).json()
            assert current["model_version"] == v3
            assert current["inference_form"] == "lightgbm-single-row", current
            assert _predict(http)["model_version"] == v3
        assert not compiled_in_process(server, {swapped_sha}), "a library failing its checksum was loaded"
        assert "checksum mismatch" in server.stderr
    finally:
        library.write_bytes(original)
        _serve_version(compiled_registry, server, v1)


# ---------------------------------------------------------------------------------------- registry database
# The server reaches the shared PostgreSQL through a proxy this module starts and stops: "the database is
# down" is the proxy stopped (refused connections, open ones cut), never the shared server itself.


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``stop()`` closes the listener and every open connection,
    which the server sees exactly as a database that went away."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def start(self) -> None:
        """Listen (again); a no-op while listening."""

        async def start() -> None:
            if self._server is None:
                self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port, reuse_address=True)

        self._call(start())

    def stop(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._call(stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _pipe(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, target_writer))

        async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.transport.abort()
                self._writers.discard(writer)

        await asyncio.gather(copy(client_reader, target_writer), copy(target_reader, client_writer))


@pytest.fixture(scope="module")
def proxy(postgres_registry: Registry) -> Iterator[TcpProxy]:
    proxy = TcpProxy(int(postgres_registry.tracking_uri.split(":")[-1].split("/")[0]))
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def registry_server(
    postgres_registry: Registry, proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server started while the registry database is down (the proxy not yet listening)."""
    proxy.stop()
    uri = postgres_registry.tracking_uri.replace(":5432/", f":{proxy.port}/")
    with tripcast_serve(uri, tmp_path_factory.mktemp("registry-server"), wait_ready=False) as server:
        yield server


def _assert_reveals_nothing(text: str, proxy: TcpProxy) -> None:
    for secret in (DB_PASSWORD, "postgresql", "psycopg", str(proxy.port), "Traceback", "Error"):
        assert secret not in text, f"{secret!r} leaked in {text!r}"


def _assert_quiet(server: Server) -> None:
    stderr = server.stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    assert DB_PASSWORD not in stderr
    # One warning when an outage starts and one when it ends, not a line per retry.
    assert stderr.count("registry unreachable") <= 2, stderr[-3000:]


@pytest.mark.slow
def test_server_with_the_registry_database_down_listens_reports_not_ready_cleanly_and_gets_ready_when_it_returns(
    postgres_registry: Registry, proxy: TcpProxy, registry_server: Server
) -> None:
    server = registry_server
    with httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.get("/health/live").status_code == 200
        ready = http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["reason"] == "model registry unreachable; retrying"
        _assert_reveals_nothing(ready.text, proxy)
        refused = http.post("/v1/predictions", json=TRIP)
        assert refused.status_code == 503
        _assert_reveals_nothing(refused.text, proxy)
        time.sleep(1.5)  # several retries while down

        proxy.start()
        came_back = time.monotonic()
        wait_for(lambda: http.get("/health/ready").status_code == 200, 30, "readiness after the database returned")
        took = time.monotonic() - came_back
        assert _predict(http)["model_version"] == postgres_registry.versions[0]
        assert server.alive(), server.died()
    _assert_quiet(server)
    assert took < 15


@pytest.mark.slow
def test_registry_database_dropped_under_load_keeps_predictions_answered_without_tracebacks(
    proxy: TcpProxy, registry_server: Server
) -> None:
    server = registry_server
    proxy.start()
    with httpx.Client(base_url=server.base, timeout=10) as http:
        wait_for(lambda: http.get("/health/ready").status_code == 200, 30, "the server to be ready")
    before = server.stderr.count("registry unreachable")
    with Load(server.base) as load:
        wait_for(lambda: len(load.answers) > 20, 20, "answers under load")
        proxy.stop()
        dropped = time.monotonic()
        time.sleep(2.5)  # ~12 polls of the registry while it is gone
        with httpx.Client(base_url=server.base, timeout=10) as http:
            assert http.get("/health/ready").status_code == 200  # still serving the loaded model
        answered_while_down = len([a for a in load.answers if a[0] >= dropped])
        proxy.start()
        time.sleep(1.0)
        assert server.alive(), server.died()
    assert load.failed() == [], (load.failed()[:5], load.errors[:5])
    assert answered_while_down > 20
    stderr = server.stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    assert DB_PASSWORD not in stderr
    assert stderr.count("registry unreachable") - before == 1, stderr[-3000:]  # one warning for this outage

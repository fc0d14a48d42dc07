"""The README is executable: every command in its ```bash blocks runs as written, after `tripcast demo`.

The commands run in a fresh copy of the repository's tracked files, from its root, on the embedded
defaults a newcomer gets (``./data``, MLflow on ``data/mlflow.db``) with the real TLC files beside the
repository, where the README's ``../shared/data/nyc-taxi`` paths point. ``uv run X`` runs as this
environment's ``X`` (the same program, without re-syncing). Commands run in README order, like a user
going down the page: ``promote --version 2`` promotes what ``train`` registered above it.

Everything the test does differently from a user typing the line is in one of the tables below, each
entry with its reason; a README line that needs a new placeholder or treatment fails until it is listed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from support.serve_process import wait_until_serving

REPO_ROOT = Path(__file__).resolve().parents[3]
README = REPO_ROOT / "README.md"
BIN = Path(sys.executable).parent
MONTH_ON_DISK = "2021-03"

# --------------------------------------------------------------------------- what differs from typing the line
#: Lines of the README's bash blocks this test does not run itself, and why.
NOT_RUN: dict[str, str] = {
    "make demo": "the module fixture runs what it runs, `uv run tripcast demo`; its `setup` step (uv sync) "
    "made the environment this test runs in",
    "make test": "the whole test suite, of which this test is a part",
    "python create_mlops_structure.py --list": "run as written from the repository root, with the interpreter "
    "of a machine where nothing is installed, by tests/unit/generator/test_generator_cli.py",
    "python create_mlops_structure.py --project-name my-ml-project --level beginner --dry-run": "the same "
    "(test_dry_run_prints_one_reason_per_folder_and_writes_nothing)",
    "python create_mlops_structure.py --project-name my-ml-project --level beginner --output ..": "generates and "
    "locks a project: tests/generator (make test-generator) runs it (beginner, then each level to compare with "
    "the upgraded project), then the project's own make demo and make test at each level",
    "uv run tripcast ingest --from postgres --url postgresql+psycopg://postgres@127.0.0.1:5432/trips --table "
    "green_trips --month 2021-04": "needs a database of trips; the same command runs against a table of "
    "real trips in the real PostgreSQL in tests/integration/data/test_ingest_sources_cli.py",
    "uv run tripcast ingest --from rest --url https://trips.example/v1/trips --month 2021-04": "needs a trips API "
    "(and the network); the same command runs against a local one in "
    "tests/integration/data/test_ingest_sources_cli.py",
}

#: Commands rewritten before running: README text -> (text run, why).
REWRITES: dict[str, tuple[str, str]] = {
    "uv run tripcast ingest --month 2021-04": (
        f"uv run tripcast ingest --month {MONTH_ON_DISK}",
        "2021-04 is downloaded from TLC; tests use no network and the shared files hold 2021-01..03",
    ),
    "uv run tripcast validate --month 2021-04": (
        f"uv run tripcast validate --month {MONTH_ON_DISK}",
        "validates the month the ingest line above fetched (see its rewrite)",
    ),
}

#: Placeholder-looking tokens (ALL_CAPS words, $VARS) and input files of the README's commands -> (what the
#: test puts there, why). ``{name}`` is filled from values the session gathered while running the commands.
PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "DIR_OR_FILE": ("trips.parquet", "a trip file: the 1,000 real March trips the fixture writes"),
    "trips.parquet": (
        "trips.parquet",
        "written by the fixture in the repository copy: green 2021-03's first 1,000 rows",
    ),
    "$KEY": ("{api_key}", "the key the README's `tokens create ... | tail -1` line printed"),
}
#: All-caps words in commands that are literal text, not placeholders.
LITERALS = {"GET": "an HTTP method", "POST": "an HTTP method"}


@dataclass(frozen=True)
class Expect:
    """A documented outcome other than exit 0: the exit status and a phrase the output says."""

    exit_code: int
    says: str
    why: str


#: Commands whose documented outcome, in the state the lines above leave, is a non-zero exit.
EXPECTED: dict[str, Expect] = {
    'uv run tripcast promote --version 2 --reason "retrained on fresh data"': Expect(
        1, "not promoted: not better", "gated: v2 is `train`'s retrain of the demo's champion on the same months"
    ),
    "uv run tripcast audit --adopt-legacy": Expect(
        1, "nothing to adopt", "only for a trail written before TRIPCAST_AUDIT_KEY; the demo's trail is signed"
    ),
}

#: Commands whose last stdout line the session keeps, under a name PLACEHOLDERS can use.
CAPTURES = {"uv run tripcast tokens create --name checkout-service --role predictor | tail -1": "api_key"}

#: The README line that starts the server that commands naming it (localhost:8000) and these talk to.
SERVE = "uv run tripcast serve"
NEEDS_SERVER: dict[str, str] = {}

#: Settings that differ from the embedded defaults -> (value, why).
SETTINGS: dict[str, tuple[str, str]] = {
    "TRIPCAST_RAW_DIR": ("../shared/data/nyc-taxi", "the README's own way to use TLC files already on disk"),
    "TRIPCAST_COMPILE_ON_REGISTER": (
        "false",
        "`tripcast optimize` (a README line) compiles the champion; compiling every version the demo and "
        "`train` register too would add ~1.5 min each",
    ),
}


CURL_FAILS = re.compile(r"\s(--fail|--fail-with-body|-f|-[a-zA-Z]*f[a-zA-Z]*)\s")


def needs_server(text: str) -> bool:
    return text in NEEDS_SERVER or bool(re.search(r"(localhost|127\.0\.0\.1):8000\b", text))


# --------------------------------------------------------------------------- reading the README
@dataclass(frozen=True)
class Documented:
    """One command of a README bash block: its text without the comment, and the comment."""

    text: str
    line: int
    comment: str = ""

    @property
    def id(self) -> str:
        return f"L{self.line}: {self.text[:90]}"


def split_comment(line: str) -> tuple[str, str]:
    """``line`` as (command, trailing shell comment): a ``#`` after whitespace, outside quotes, starts it."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip(), line[i + 1 :].strip()
    return line.strip(), ""


def documented_commands(text: str) -> list[Documented]:
    """Every command line of the ```bash blocks of ``text``, in order."""
    commands, in_bash = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            in_bash = not in_bash and line.strip() == "```bash"
            continue
        command, comment = split_comment(line) if in_bash else ("", "")
        if command:
            commands.append(Documented(command, number, comment))
    return commands


COMMANDS = documented_commands(README.read_text())
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_]\w*\}?|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\b(?!=)")


def placeholders_in(command: str) -> set[str]:
    """Tokens of ``command`` that look like something to fill in: $VARS, ALL_CAPS words, listed input files."""
    found = {token for token in PLACEHOLDER.findall(command) if len(token.strip("${}")) > 1}
    found |= {name for name in PLACEHOLDERS if not PLACEHOLDER.fullmatch(name) and name in shlex.split(command)}
    return found - set(LITERALS)


def documented_trip() -> dict[str, object]:
    """The trip JSON of the README's ``predict --trip`` line: the request the API is documented with."""
    for doc in COMMANDS:
        words = shlex.split(doc.text)
        if "--trip" in words:
            return dict(json.loads(words[words.index("--trip") + 1]))
    raise AssertionError("README documents no `tripcast predict --trip '{...}'` line")


def test_every_placeholder_in_a_readme_command_has_a_substitution() -> None:
    unlisted = {doc.id: sorted(placeholders_in(doc.text) - set(PLACEHOLDERS)) for doc in COMMANDS}
    assert not {line: tokens for line, tokens in unlisted.items() if tokens}, "add them to PLACEHOLDERS"
    used = set().union(*(placeholders_in(doc.text) for doc in COMMANDS))
    assert set(PLACEHOLDERS) <= used, f"PLACEHOLDERS entries no README line needs: {set(PLACEHOLDERS) - used}"


def test_every_special_case_names_a_command_the_readme_has_and_the_rest_can_run() -> None:
    texts = {doc.text for doc in COMMANDS}
    listed = [*NOT_RUN, *REWRITES, *EXPECTED, *CAPTURES, *NEEDS_SERVER, *LONG_RUNNING, SERVE]
    assert not set(listed) - texts, f"entries for commands the README no longer has: {set(listed) - texts}"
    runnable = set(NOT_RUN) | set(LONG_RUNNING)
    unknown = [doc.id for doc in COMMANDS if doc.text not in runnable and not re.match(r"(uv run |curl )", doc.text)]
    assert not unknown, f"README lines this test does not know how to run (list them in NOT_RUN?): {unknown}"
    # Without --fail, curl exits 0 on a 401 or 403: the line would pass while the documented call fails.
    silent = [doc.id for doc in COMMANDS if doc.text.startswith("curl ") and not CURL_FAILS.search(doc.text)]
    assert not silent, f"curl lines that exit 0 on an HTTP error (add --fail-with-body): {silent}"


def test_every_documented_failure_states_its_exit_status_in_the_readme() -> None:
    for doc in COMMANDS:
        if doc.text in EXPECTED:
            assert f"exit {EXPECTED[doc.text].exit_code}" in doc.comment, f"README does not say: {doc.id}"


# --------------------------------------------------------------------------- the session the commands run in
@dataclass
class Session:
    """A repository copy after `tripcast demo`, and values gathered from the commands run so far."""

    root: Path
    env: dict[str, str]
    logs: Path
    values: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None

    def resolve(self, text: str) -> str:
        """The shell text to run for README ``text``: rewrites, placeholders, ``uv run X`` -> this venv's X."""
        command = REWRITES.get(text, (text, ""))[0]
        for token in sorted(placeholders_in(command), key=len, reverse=True):
            replacement = PLACEHOLDERS[token][0].format(**self.values)
            command = re.sub(rf"(?<![\w$]){re.escape(token)}(?!\w)", replacement.replace("\\", r"\\"), command)
        return re.sub(r"\buv run (\S+)", lambda m: shlex.quote(str(BIN / m.group(1))), command)

    def ensure_server(self) -> None:
        """Start the README's own ``tripcast serve`` line in the background, once, and wait until ready."""
        if self.server is None or self.server.poll() is not None:
            self.server = start(self, SERVE, "background-serve")
            log = self.logs / "background-serve.log"
            wait_until(self.server, log, lambda _: ready_and_predicts(8000), port=PORTS[SERVE])

    def stop_server(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None


def copy_tracked_files(destination: Path) -> None:
    """The repository's tracked files as they are in the work tree (uncommitted edits included)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def session_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIPCAST_", "MLFLOW_"))}
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1")  # PYTHONUNBUFFERED: servers' logs appear as they are written
    env.update({name: value for name, (value, _) in SETTINGS.items()})
    return env


@pytest.fixture(scope="module")
def session(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A copy of the repository beside ``shared/data/nyc-taxi``, after `tripcast demo` on the real files."""
    busy = [port for port in (8000, 8080, 5000, 8501) if not port_is_free(port)]
    if busy:
        pytest.fail(f"ports the README's servers use are taken by other processes: {busy}")
    top = tmp_path_factory.mktemp("readme")
    root, logs = top / "tripcast", top / "logs"
    logs.mkdir()
    copy_tracked_files(root)
    (top / "shared" / "data").mkdir(parents=True)
    (top / "shared" / "data" / "nyc-taxi").symlink_to(shared_data_dir, target_is_directory=True)
    env = session_env()
    demo = subprocess.run(
        [str(BIN / "tripcast"), "demo"], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "demo summary (real NYC TLC data)" in demo.stdout
    import pyarrow.parquet as pq

    march = pq.read_table(shared_data_dir / f"green_tripdata_{MONTH_ON_DISK}.parquet")
    pq.write_table(march.slice(0, 1000), root / "trips.parquet")
    live = Session(root, env, logs, values={})
    yield live
    live.stop_server()


# --------------------------------------------------------------------------- long-running commands
def start(session: Session, text: str, name: str) -> subprocess.Popen[bytes]:
    """Start README ``text`` in its own process group, output to ``<logs>/<name>.log``."""
    with (session.logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            ["bash", "-c", session.resolve(text)],
            cwd=session.root,
            env=session.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process group we started; SIGKILL it if it is still there after 30 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError("still running 30 s after SIGTERM") from None
    return process.returncode


def wait_until(
    process: subprocess.Popen[bytes],
    log: Path,
    ready: Callable[[str], bool],
    seconds: float = 120,
    *,
    port: int | None = None,
) -> None:
    """Poll ``ready(log text)`` until true; fail if the process exits first or time runs out.

    With ``port``, ready also needs the listening socket on ``port`` to belong to ``process`` (or a child):
    a server that another test or process left on the port must not pass for the one just started (it
    answered a fresh API key with 401 once, its key store being another one).
    """
    if port is not None:
        wait_until_serving(process, port, lambda: ready(log.read_text()), log=log, seconds=seconds)
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode} before answering:\n{log.read_text()[-3000:]}")
        try:
            if ready(log.read_text()):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready after {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def ready_and_predicts(port: int) -> bool:
    """``/health/ready`` is 200 and the documented trip gets a prediction from ``/v1/predictions``."""
    base = f"http://127.0.0.1:{port}"
    if httpx.get(f"{base}/health/ready", timeout=5).status_code != 200:
        return False
    answer = httpx.post(f"{base}/v1/predictions", json=documented_trip(), timeout=10)
    if answer.status_code == 503:  # with several workers, another may still be loading the model
        return False
    assert answer.status_code == 200, answer.text
    assert 1 <= answer.json()["minutes"] <= 120 and answer.json()["model_name"] == "trip-duration"
    return True


def all_workers_report(port: int) -> bool:
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    return ready_and_predicts(port) and metrics.status_code == 200 and "tripcast_" in metrics.text


def mlflow_ui_shows_the_registry(_: str) -> bool:
    """The UI answers and reads the demo's registry through the README's relative SQLite URI."""
    if httpx.get("http://127.0.0.1:5000/health", timeout=5).status_code != 200:
        return False
    found = httpx.get("http://127.0.0.1:5000/api/2.0/mlflow/registered-models/search", timeout=10)
    names = [model["name"] for model in found.json().get("registered_models", [])]
    assert names == ["trip-duration"], found.text
    return True


def dashboard_answers(_: str) -> bool:
    return httpx.get("http://127.0.0.1:8501/_stcore/health", timeout=5).status_code == 200


#: Commands that run until stopped -> what shows they started and work. They get SIGTERM once it holds.
LONG_RUNNING: dict[str, Callable[[str], bool]] = {
    "uv run mlflow ui --backend-store-uri sqlite:///data/mlflow.db": mlflow_ui_shows_the_registry,
    SERVE: lambda _: ready_and_predicts(8000),
    "uv run tripcast serve --workers 4": lambda _: all_workers_report(8000),
    "uv run tripcast stream": lambda log: "consuming tripcast:trips" in log,
    "uv run tripcast dashboard": dashboard_answers,
    # HAProxy in front of the README's server on :8000 (started for it): a prediction through the proxy works.
    "TRIPCAST_WORKER_1=127.0.0.1:8000 haproxy -db -f deployment/proxy/haproxy.cfg": lambda _: ready_and_predicts(8080),
}


#: Long-running commands that listen -> their port: ready only once the process started listens there itself.
PORTS: dict[str, int] = {
    "uv run mlflow ui --backend-store-uri sqlite:///data/mlflow.db": 5000,
    SERVE: 8000,
    "uv run tripcast serve --workers 4": 8000,
    "uv run tripcast dashboard": 8501,
    "TRIPCAST_WORKER_1=127.0.0.1:8000 haproxy -db -f deployment/proxy/haproxy.cfg": 8080,
}


# --------------------------------------------------------------------------- the commands
def run_long(session: Session, doc: Documented) -> None:
    name = re.sub(r"\W+", "-", doc.text)[:60]
    process = start(session, doc.text, name)
    try:
        wait_until(process, session.logs / f"{name}.log", LONG_RUNNING[doc.text], port=PORTS.get(doc.text))
    finally:
        code = stop(process)
    output = (session.logs / f"{name}.log").read_text()
    shown = f"ran: {session.resolve(doc.text)}\n{output[-3000:]}"
    assert "Traceback" not in output, shown
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), f"exit {code} on SIGTERM\n{shown}"


def run_once(session: Session, doc: Documented) -> None:
    if needs_server(doc.text):
        session.ensure_server()
    command = session.resolve(doc.text)
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=session.root,
        env=session.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    shown = f"ran: {command}\n{output[-3000:]}"
    expected = EXPECTED.get(doc.text, Expect(0, "", "no documented failure"))
    assert result.returncode == expected.exit_code, (
        f"exit {result.returncode}, expected {expected.exit_code}: {expected.why}\n{shown}"
    )
    assert expected.says in output, shown
    assert "Traceback" not in output, shown
    if doc.text in CAPTURES:
        session.values[CAPTURES[doc.text]] = result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in COMMANDS if d.text not in NOT_RUN], ids=lambda d: d.id)
def test_readme_command_runs_as_documented(session: Session, doc: Documented) -> None:
    if doc.text in LONG_RUNNING:
        if needs_server(doc.text):
            session.ensure_server()  # e.g. the proxy in front of the README's `serve`
        else:
            session.stop_server()  # `serve` lines use the background server's port
        run_long(session, doc)
    else:
        run_once(session, doc)

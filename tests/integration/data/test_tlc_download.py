"""The downloader against a real HTTP server on 127.0.0.1 serving a copy of a real TLC file."""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from tripcast.core.domain.month import Month
from tripcast.data_engineering.tlc.download import DataUnavailableError, TlcDownloader, read_sidecar
from tripcast.data_engineering.tlc.source import TlcFileSource

JAN = Month(2021, 1)
NAME = "green_tripdata_2021-01.parquet"
JAN_SHA256 = "b8e2c9496c5eada0f10adbd88f98d91721ec6fe2787a2b355cf0ccfa9678ee7b"


class TlcFileServer:
    """Serves files from a folder with ``Range`` support and scripted faults for the next requests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: list[str] = []  # "500" or "truncate", consumed one per request
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                fault = server.faults.pop(0) if server.faults else None
                if fault == "500":
                    self.send_error(500, "scripted failure")
                    return
                path = server.root / self.path.rsplit("/", 1)[-1]
                if not path.is_file():
                    self.send_error(404, "not found")
                    return
                body = path.read_bytes()
                start = 0
                requested = self.headers.get("Range")
                if requested and not server.ignore_range:
                    start = int(requested.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                payload = body[start:]
                if fault == "truncate":
                    # Promise the whole body, deliver a third, hang up: a dropped connection mid-transfer.
                    self.wfile.write(payload[: len(payload) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/trip-data"

    def __enter__(self) -> TlcFileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture()
def server(shared_data_dir: Path, tmp_path: Path) -> Iterator[TlcFileServer]:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(shared_data_dir / NAME, served / NAME)
    (served / "green_tripdata_2021-05.parquet").write_text("<html>captive portal</html>")
    with TlcFileServer(served) as running:
        yield running


def _downloader(server: TlcFileServer, dest: Path, retries: int = 3) -> TlcDownloader:
    return TlcDownloader(
        server.base_url, dest, retries=retries, timeout=10.0, show_progress=False, backoff_seconds=0.01
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_full_download_with_checksum_sidecar(server: TlcFileServer, tmp_path: Path) -> None:
    dest_dir = tmp_path / "raw"
    path = _downloader(server, dest_dir).download("green", JAN)
    assert path == dest_dir / NAME
    assert _sha256(path) == JAN_SHA256
    assert read_sidecar(path) == JAN_SHA256
    assert (dest_dir / f"{NAME}.sha256").read_text() == f"{JAN_SHA256}  {NAME}\n"
    assert not (dest_dir / f"{NAME}.part").exists()
    assert server.requests == [(f"/trip-data/{NAME}", None)]
    # Already there: no second request.
    assert _downloader(server, dest_dir).download("green", JAN) == path
    assert len(server.requests) == 1


def test_resume_from_an_existing_part_file(server: TlcFileServer, tmp_path: Path, shared_data_dir: Path) -> None:
    dest_dir = tmp_path / "raw"
    dest_dir.mkdir()
    original = (shared_data_dir / NAME).read_bytes()
    (dest_dir / f"{NAME}.part").write_bytes(original[:500_000])
    path = _downloader(server, dest_dir).download("green", JAN)
    assert server.requests == [(f"/trip-data/{NAME}", "bytes=500000-")]
    assert _sha256(path) == JAN_SHA256


def test_dropped_connection_is_retried_and_resumed(server: TlcFileServer, tmp_path: Path) -> None:
    server.faults = ["truncate"]
    path = _downloader(server, tmp_path / "raw").download("green", JAN)
    assert _sha256(path) == JAN_SHA256
    assert len(server.requests) == 2
    first, second = server.requests
    assert first[1] is None
    assert second[1] is not None and second[1].startswith("bytes=") and second[1] != "bytes=0-"


def test_server_ignoring_range_restarts_cleanly(server: TlcFileServer, tmp_path: Path, shared_data_dir: Path) -> None:
    dest_dir = tmp_path / "raw"
    dest_dir.mkdir()
    (dest_dir / f"{NAME}.part").write_bytes((shared_data_dir / NAME).read_bytes()[:1000])
    server.ignore_range = True
    path = _downloader(server, dest_dir).download("green", JAN)
    assert _sha256(path) == JAN_SHA256


def test_retry_after_server_errors(server: TlcFileServer, tmp_path: Path) -> None:
    server.faults = ["500", "500"]
    path = _downloader(server, tmp_path / "raw", retries=3).download("green", JAN)
    assert _sha256(path) == JAN_SHA256
    assert len(server.requests) == 3


def test_persistent_server_errors_give_up_with_directions(server: TlcFileServer, tmp_path: Path) -> None:
    server.faults = ["500"] * 5
    with pytest.raises(DataUnavailableError) as info:
        _downloader(server, tmp_path / "raw", retries=1).download("green", JAN)
    assert len(server.requests) == 2
    assert "HTTP 500" in str(info.value)
    assert f"{server.base_url}/{NAME}" in str(info.value)
    assert not (tmp_path / "raw" / NAME).exists()


def test_404_says_the_month_is_not_published(server: TlcFileServer, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as info:
        _downloader(server, tmp_path / "raw").download("green", Month(2031, 1))
    message = str(info.value)
    assert "2031-01 is not published" in message and "HTTP 404" in message
    assert len(server.requests) == 1  # a 404 is an answer, not a glitch: no retries


def test_non_parquet_answer_is_refused(server: TlcFileServer, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="not a parquet file"):
        _downloader(server, tmp_path / "raw").download("green", Month(2021, 5))
    # Only the (hidden, empty) lock file remains: no half file, no .part.
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [".green_tripdata_2021-05.parquet.lock"]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_offline_message_names_url_path_and_alternatives(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/trip-data"
    dest_dir = tmp_path / "raw"
    downloader = TlcDownloader(base_url, dest_dir, retries=1, timeout=2.0, show_progress=False, backoff_seconds=0.01)
    with pytest.raises(DataUnavailableError) as info:
        downloader.download("green", JAN)
    message = str(info.value)
    assert f"Download {base_url}/{NAME} yourself" in message
    assert f"save it as {(dest_dir / NAME).resolve()}" in message
    assert "--source DIR" in message and "TRIPCAST_RAW_DIR" in message and "--synthetic" in message
    assert "ConnectError" in message


def test_progress_bar_renders(server: TlcFileServer, tmp_path: Path) -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, width=100)
    downloader = TlcDownloader(server.base_url, tmp_path / "raw", show_progress=True, console=console)
    downloader.download("green", JAN)
    assert NAME in output.getvalue()
    assert "MB" in output.getvalue()


def test_source_downloads_when_nothing_is_local(server: TlcFileServer, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    source = TlcFileSource(raw_dir, downloader=_downloader(server, raw_dir))
    dataset = source.load(JAN)
    assert dataset.source == str(raw_dir / NAME)
    assert dataset.digest == JAN_SHA256
    assert len(dataset.table) == 76_518
    source.load(JAN)
    assert len(server.requests) == 1


def test_unknown_host_gives_up_with_directions(tmp_path: Path) -> None:
    """``.invalid`` never resolves (RFC 2606); a missing host is not worth retrying."""
    downloader = TlcDownloader(
        "http://tripcast-test.invalid/trip-data",
        tmp_path / "raw",
        retries=2,
        timeout=5.0,
        show_progress=False,
        backoff_seconds=0.01,
    )
    with pytest.raises(DataUnavailableError) as info:
        downloader.download("green", JAN)
    assert f"http://tripcast-test.invalid/trip-data/{NAME}" in str(info.value)
    assert "--synthetic" in str(info.value)


def test_dns_no_such_host_is_not_retried() -> None:
    from tripcast.data_engineering.tlc.download import _host_unknown

    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as inner:
            raise OSError("connect failed") from inner
    except OSError as outer:
        assert _host_unknown(outer)
    assert not _host_unknown(ConnectionRefusedError(111, "refused"))


def test_source_refuses_a_file_changed_since_download(server: TlcFileServer, tmp_path: Path) -> None:
    from tripcast.data_engineering.tlc.errors import TlcFileError

    raw_dir = tmp_path / "raw"
    path = _downloader(server, raw_dir).download("green", JAN)
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(TlcFileError, match=r"differs from .* recorded when it was downloaded"):
        TlcFileSource(raw_dir).load(JAN)


def test_concurrent_downloads_of_one_month_agree(server: TlcFileServer, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    results: list[Path] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            results.append(_downloader(server, raw_dir).download("green", JAN))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 3 and len(set(results)) == 1
    assert _sha256(results[0]) == JAN_SHA256
    assert len(server.requests) == 1

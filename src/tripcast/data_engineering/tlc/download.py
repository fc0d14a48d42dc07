"""Download TLC month files: streamed, resumable, retried, verified by checksum, atomically renamed."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tripcast.core.domain.month import Month
from tripcast.data_engineering.ingestion.retry import RetryableError, RetryPolicy
from tripcast.data_engineering.tlc.errors import DataUnavailableError, where_to_get_it
from tripcast.data_engineering.tlc.files import tlc_file_name
from tripcast.durable_files import describe_os_error, fsync_directory, fsync_file

__all__ = ["DataUnavailableError", "TlcDownloader", "file_sha256", "read_sidecar", "write_sidecar"]

_CHUNK_BYTES = 1 << 16
#: CloudFront answers 403 (not 404) for keys that were never published.
_NOT_PUBLISHED = frozenset({403, 404})


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    """``<file>.sha256`` beside ``path``."""
    return path.with_name(path.name + ".sha256")


def write_sidecar(path: Path, digest: str) -> Path:
    """Record ``digest`` in ``sha256sum`` format so ``sha256sum -c`` can verify the file."""
    sidecar = sidecar_path(path)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    fsync_file(tmp)
    os.replace(tmp, sidecar)
    return sidecar


def read_sidecar(path: Path) -> str | None:
    """The digest recorded beside ``path``, or None when there is no sidecar."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    text = sidecar.read_text(encoding="utf-8").split()
    return text[0] if text else None


class TlcDownloader:
    """Fetches ``{service}_tripdata_{month}.parquet`` from TLC's file server into ``dest_dir``.

    Bytes stream into ``<name>.part``; an existing ``.part`` is resumed with an
    HTTP ``Range`` request. Network errors, 5xx answers and truncated bodies are
    retried with exponential backoff. The finished file is renamed into place
    atomically and its sha256 recorded in ``<name>.sha256``.
    """

    def __init__(
        self,
        base_url: str,
        dest_dir: Path,
        retries: int = 3,
        timeout: float = 60.0,
        show_progress: bool = True,
        *,
        backoff_seconds: float = 1.0,
        console: Console | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.dest_dir = Path(dest_dir)
        self.retry = RetryPolicy(attempts=retries + 1, backoff_seconds=backoff_seconds)
        self.timeout = timeout
        self.show_progress = show_progress
        self._console = console or Console(stderr=True)

    def url_for(self, service: str, month: Month) -> str:
        """Where TLC publishes the month."""
        return f"{self.base_url}/{tlc_file_name(service, month)}"

    def path_for(self, service: str, month: Month) -> Path:
        """Where the month is stored locally."""
        return self.dest_dir / tlc_file_name(service, month)

    def download(self, service: str, month: Month) -> Path:
        """The local path of the month's file, downloading it first unless it is already there."""
        url = self.url_for(service, month)
        dest = self.path_for(service, month)
        if dest.is_file():
            if read_sidecar(dest) is None:
                write_sidecar(dest, file_sha256(dest))
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(dest.with_name(f".{dest.name}.lock")):
            if dest.is_file():  # another process finished it while we waited for the lock
                return dest
            return self._download_locked(url, dest, month)

    def _download_locked(self, url: str, dest: Path, month: Month) -> Path:
        part = dest.with_name(dest.name + ".part")

        def give_up(error: RetryableError, attempts: int) -> DataUnavailableError:
            return self._unavailable(url, dest, error, attempts)

        try:
            self.retry.call(lambda: self._fetch_into(url, part, month), give_up)
        except OSError as exc:  # our side: a full disk or a read-only folder; retrying cannot help
            reason = describe_os_error(exc)
            raise DataUnavailableError(
                f"cannot write {part}: {reason}; the bytes received so far stay there and the next run resumes"
            ) from exc
        if not _looks_like_parquet(part):
            part.unlink(missing_ok=True)
            raise DataUnavailableError(
                f"{url} answered with something that is not a parquet file (a proxy or captive portal page?). "
                + where_to_get_it(url, dest)
            )
        digest = file_sha256(part)
        fsync_file(part)  # on disk before it takes the final name: a power cut cannot leave a hollow file there
        os.replace(part, dest)
        fsync_directory(dest.parent)
        write_sidecar(dest, digest)
        return dest

    def _fetch_into(self, url: str, part: Path, month: Month) -> None:
        """One attempt: append to ``part`` from where it ends; raise :class:`RetryableError` on transient failure."""
        offset = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=self.timeout, follow_redirects=True) as response:
                if response.status_code in _NOT_PUBLISHED:
                    raise DataUnavailableError(
                        f"{month} is not published at {url} (HTTP {response.status_code}); TLC releases each month "
                        "with a delay of about two months. Pick an earlier month or use --synthetic."
                    )
                if response.status_code == 416:
                    # Our .part is not a prefix the server recognises; start over.
                    part.unlink(missing_ok=True)
                    raise RetryableError(f"range {offset}- not satisfiable, restarting from byte 0")
                if response.status_code >= 500:
                    raise RetryableError(f"server error HTTP {response.status_code}")
                if response.status_code not in (200, 206):
                    raise DataUnavailableError(
                        f"{url}: unexpected HTTP {response.status_code}; cannot download {month}"
                    )
                resumed = response.status_code == 206
                if resumed and not _range_starts_at(response, offset):
                    part.unlink(missing_ok=True)
                    raise RetryableError("server resumed at the wrong byte, restarting")
                start = offset if resumed else 0
                length = response.headers.get("Content-Length")
                total = start + int(length) if length is not None else None
                written = self._stream(response, part, append=resumed, start=start, total=total)
                if total is not None and start + written < total:
                    raise RetryableError(f"body ended after {start + written} of {total} bytes")
        except httpx.TransportError as exc:
            if _host_unknown(exc):
                # DNS says the host does not exist (offline, no resolver): retrying cannot help.
                raise RetryableError(f"{type(exc).__name__}: {exc}", final=True) from exc
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc

    def _stream(self, response: httpx.Response, part: Path, *, append: bool, start: int, total: int | None) -> int:
        written = 0
        progress = Progress(
            TextColumn("[bold blue]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self.show_progress,
            transient=False,
        )
        with progress, part.open("ab" if append else "wb") as handle:
            task = progress.add_task(part.name.removesuffix(".part"), total=total, completed=start)
            for chunk in response.iter_bytes(_CHUNK_BYTES):
                handle.write(chunk)
                written += len(chunk)
                progress.update(task, advance=len(chunk))
        return written

    def _unavailable(self, url: str, dest: Path, error: Exception, attempts: int) -> DataUnavailableError:
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        return DataUnavailableError(f"Could not download {url} ({error}; {tries}). {where_to_get_it(url, dest)}")


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock so two processes never append to the same ``.part``."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _host_unknown(exc: BaseException) -> bool:
    """Whether the error chain holds a DNS "no such host" answer (EAI_NONAME)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.errno == socket.EAI_NONAME:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _looks_like_parquet(path: Path) -> bool:
    """Parquet files start and end with ``PAR1``; anything else is an error page or a broken transfer."""
    size = path.stat().st_size
    if size < 12:
        return False
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(size - 4)
        tail = handle.read(4)
    return head == tail == b"PAR1"


def _range_starts_at(response: httpx.Response, offset: int) -> bool:
    """Whether a 206 answer's ``Content-Range: bytes a-b/n`` starts at ``offset``."""
    content_range = response.headers.get("Content-Range", "")
    try:
        first = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return first == offset

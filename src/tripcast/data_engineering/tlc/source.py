"""TLC month files as a :class:`TripDataSource`: a given file or folder, the raw folder, or a download."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawBatches, RawDataset, TripFileSource
from tripcast.data_engineering.tlc.download import TlcDownloader, file_sha256, read_sidecar
from tripcast.data_engineering.tlc.errors import DataUnavailableError, TlcFileError, where_to_get_it
from tripcast.data_engineering.tlc.files import (
    FILE_EXTENSIONS,
    check_service,
    check_supported_month,
    month_from_file_name,
    read_tlc_batches,
    read_tlc_file,
    tlc_file_name,
)
from tripcast.settings import DEFAULT_TLC_BASE_URL


class TlcFileSource(TripFileSource):
    """Finds a month's TLC file locally (``local_source``, then ``raw_dir``) or downloads it.

    ``local_source`` may be one file (used for whatever month is asked) or a folder
    holding ``{service}_tripdata_{month}.parquet`` / ``.csv`` / ``.csv.gz`` files.
    """

    def __init__(
        self,
        raw_dir: Path,
        service: str = "green",
        downloader: TlcDownloader | None = None,
        local_source: Path | None = None,
        *,
        base_url: str = DEFAULT_TLC_BASE_URL,
    ) -> None:
        self.raw_dir = Path(raw_dir)
        self.service = check_service(service)
        self.downloader = downloader
        self.local_source = Path(local_source) if local_source is not None else None
        self.base_url = downloader.base_url if downloader is not None else base_url.rstrip("/")

    def fetch(self, month: Month) -> str:
        """The local path of the month's file, downloading it when it is nowhere local."""
        return str(self._locate(month))

    def load(self, month: Month) -> RawDataset:
        """The month's trips in the canonical schema, with the file's sha256 as digest."""
        path = self._locate(month)
        digest = _verified_digest(path)
        return RawDataset(read_tlc_file(path, self.service), month, str(path), digest)

    def read_batches(self, month: Month, batch_rows: int) -> RawBatches:
        """The month's trips in canonical batches of at most ``batch_rows`` rows, with the file's sha256."""
        path = self._locate(month)
        digest = _verified_digest(path)
        return RawBatches(month, str(path), digest, read_tlc_batches(path, self.service, batch_rows))

    def load_file(self, path: Path | str) -> RawDataset:
        """Any TLC file; the month comes from its name, else from the most frequent pickup month."""
        path = Path(path)
        table = read_tlc_file(path)
        month = month_from_file_name(path) or _dominant_month(table, path)
        return RawDataset(table, month, str(path), _verified_digest(path))

    def _locate(self, month: Month) -> Path:
        check_supported_month(month)
        if self.local_source is not None:
            if self.local_source.is_file():
                return self._checked_single_file(self.local_source, month)
            if not self.local_source.is_dir():
                raise TlcFileError(f"{self.local_source}: --source is neither a file nor a folder")
            found = self._find_in(self.local_source, month)
            if found is not None:
                return found
        found = self._find_in(self.raw_dir, month)
        if found is not None:
            return found
        if self.downloader is not None:
            return self.downloader.download(self.service, month)
        url = f"{self.base_url}/{tlc_file_name(self.service, month)}"
        dest = self.raw_dir / tlc_file_name(self.service, month)
        searched = ", ".join(str(p) for p in (self.local_source, self.raw_dir) if p is not None)
        raise DataUnavailableError(
            f"No {self.service} trip file for {month} in {searched} and downloading is off. "
            + where_to_get_it(url, dest)
        )

    def _find_in(self, folder: Path, month: Month) -> Path | None:
        for ext in FILE_EXTENSIONS:
            candidate = folder / tlc_file_name(self.service, month, ext)
            if candidate.is_file():
                return candidate
        return None

    @staticmethod
    def _checked_single_file(path: Path, month: Month) -> Path:
        named = month_from_file_name(path)
        if named is not None and named != month:
            raise TlcFileError(f"{path}: the file name says {named} but month {month} was asked for")
        return path


def _verified_digest(path: Path) -> str:
    """The file's sha256, checked against the ``.sha256`` sidecar written at download time when there is one."""
    digest = file_sha256(path)
    recorded = read_sidecar(path)
    if recorded is not None and recorded != digest:
        raise TlcFileError(
            f"{path}: sha256 {digest[:12]}... differs from {recorded[:12]}... recorded when it was downloaded; "
            "the file changed or is damaged. Delete it and its .sha256 file, then fetch it again."
        )
    return digest


def _dominant_month(table: pd.DataFrame, path: Path) -> Month:
    """The month holding most pickups; TLC files carry a few stray pickups from other months."""
    pickups = table["pickup_datetime"].dropna()
    if pickups.empty:
        raise TlcFileError(f"{path}: no month in the file name and no pickup times to infer it from")
    period = pickups.dt.to_period("M").value_counts().idxmax()
    return Month(period.year, period.month)

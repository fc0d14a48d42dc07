"""What the pipeline and validation left under ``data/``, read back per month (``GET /v1/console/data``).

Three writers, read in this order of precedence for a month's counts and quarantine reasons:

- the quality report ``reports/quality_<service>_trips_<month>.json`` (the pipeline's quality step);
- the run manifest ``pipeline/<service>_<month>.json`` (every step's status, time and rows; the
  validate step's details hold the reasons);
- the processed and quarantine parquet files ``{processed,quarantine}/<service>_tripdata_<month>.parquet``
  a plain ``tripcast validate`` (or training's own validation) writes: row counts from the parquet
  footers, reasons from the ``quarantine_reason`` column (read once per file version, then cached).

Nothing here writes; an unreadable file is skipped (its month shows what the other files say).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tripcast.core.ports.pipeline import MonthDataRecord, StepRun
from tripcast.data_engineering.tlc.schema import REASON_COLUMN

_MONTH = r"(\d{4}-\d{2})"
#: The validator's ``REASON_SEPARATOR`` (not imported: that module loads pandera into the API server).
REASON_SEPARATOR = "; "
#: The names of ``steps.STEPS`` in run order (not imported: that module loads the engines; a test compares).
STEP_ORDER = ("ingest", "validate", "transform", "quality", "export")


@dataclass
class _Month:
    """A month's record while the files are read (frozen into a MonthDataRecord at the end)."""

    steps: list[StepRun] = field(default_factory=list)
    counts: tuple[int, int, int] | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)


def _json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _steps(manifest: dict[str, Any]) -> list[StepRun]:
    steps = manifest.get("steps", {})
    return [
        StepRun(
            name=str(name), status=str(record.get("status", "")), seconds=float(record.get("seconds", 0.0)),
            finished_at=str(record.get("finished_at", "")), rows={k: int(v) for k, v in record.get("rows", {}).items()},
            error=str(record.get("error", "")),
        )
        for name, record in sorted(steps.items(), key=lambda item: _step_rank(item[0]))
        if isinstance(record, dict)
    ]  # fmt: skip


def _step_rank(name: str) -> tuple[int, str]:
    return (STEP_ORDER.index(name) if name in STEP_ORDER else len(STEP_ORDER), name)


class RunHistoryFiles:
    """:class:`~tripcast.core.ports.pipeline.DataRunHistory` over the files under one data directory."""

    def __init__(self, data_dir: Path, processed_dir: Path, quarantine_dir: Path, service: str) -> None:
        self.data_dir = Path(data_dir)
        self.processed_dir = Path(processed_dir)
        self.quarantine_dir = Path(quarantine_dir)
        self.service = service
        self._reason_cache: dict[tuple[str, int, int], dict[str, int]] = {}
        self._lock = threading.Lock()

    def months(self) -> list[MonthDataRecord]:
        """Every month any of the three writers left a file for, oldest first."""
        found: dict[str, _Month] = {}
        self._read_manifests(found)
        self._read_quality_reports(found)
        self._read_validated_files(found)
        return [self._record(month, found[month]) for month in sorted(found)]

    def _matching(self, folder: Path, pattern: str) -> list[tuple[str, Path]]:
        regex = re.compile(pattern)
        if not folder.is_dir():
            return []
        return [(m.group(1), path) for path in sorted(folder.iterdir()) if (m := regex.fullmatch(path.name))]

    def _read_manifests(self, found: dict[str, _Month]) -> None:
        service = re.escape(self.service)
        for month, path in self._matching(self.data_dir / "pipeline", rf"{service}_{_MONTH}\.json"):
            manifest = _json(path)
            if manifest is None:
                continue
            entry = found.setdefault(month, _Month())
            entry.steps = _steps(manifest)
            entry.sources.append("pipeline manifest")
            validate = manifest.get("steps", {}).get("validate", {})
            rows = validate.get("rows", {}) if isinstance(validate, dict) else {}
            if {"input", "valid", "quarantined"} <= set(rows):
                entry.counts = (int(rows["input"]), int(rows["valid"]), int(rows["quarantined"]))
                entry.reasons = {str(k): int(v) for k, v in validate.get("details", {}).get("reasons", {}).items()}

    def _read_quality_reports(self, found: dict[str, _Month]) -> None:
        pattern = rf"quality_{re.escape(self.service)}_trips_{_MONTH}\.json"
        for month, path in self._matching(self.data_dir / "reports", pattern):
            report = _json(path)
            if report is None or not isinstance(report.get("counts"), dict):
                continue
            entry = found.setdefault(month, _Month())
            counts = report["counts"]
            entry.counts = (int(counts["input"]), int(counts["valid"]), int(counts["quarantined"]))
            entry.reasons = {str(k): int(v) for k, v in report.get("quarantine_reasons", {}).items()}
            entry.quality = report
            entry.sources.append("quality report")

    def _read_validated_files(self, found: dict[str, _Month]) -> None:
        pattern = rf"{re.escape(self.service)}_tripdata_{_MONTH}\.parquet"
        for month, quarantine in self._matching(self.quarantine_dir, pattern):
            processed = self.processed_dir / quarantine.name
            entry = found.setdefault(month, _Month())
            if entry.counts is not None or not processed.is_file():
                continue  # the pipeline's own records say more (and the same rows)
            try:
                n_valid, n_quarantined = pq.ParquetFile(processed).metadata.num_rows, self._rows(quarantine)
                reasons = self._reasons(quarantine)
            except (OSError, ValueError) as exc:  # a file being replaced or damaged: show the rest
                entry.sources.append(f"validated files unreadable: {exc}")
                continue
            entry.counts = (n_valid + n_quarantined, n_valid, n_quarantined)
            entry.reasons = reasons
            entry.sources.append("validated files")

    @staticmethod
    def _rows(path: Path) -> int:
        return int(pq.ParquetFile(path).metadata.num_rows)

    def _reasons(self, path: Path) -> dict[str, int]:
        """Quarantined rows per reason, counted once per version of the file (size and mtime)."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._reason_cache:
                return self._reason_cache[key]
        column = pq.read_table(path, columns=[REASON_COLUMN]).column(REASON_COLUMN).to_pylist()
        counts = Counter(reason for joined in column if joined for reason in str(joined).split(REASON_SEPARATOR))
        reasons = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        with self._lock:
            self._reason_cache = {k: v for k, v in self._reason_cache.items() if k[0] != key[0]}
            self._reason_cache[key] = reasons
        return reasons

    def _record(self, month: str, entry: _Month) -> MonthDataRecord:
        rows_in, rows_valid, rows_quarantined = entry.counts or (None, None, None)
        quality = entry.quality or {}
        return MonthDataRecord(
            month=month, service=self.service, steps=entry.steps, rows_in=rows_in, rows_valid=rows_valid,
            rows_quarantined=rows_quarantined, reasons=entry.reasons,
            quality_status=str(quality["status"]) if "status" in quality else None,
            failed_checks=[str(c) for c in quality.get("failed_checks", [])],
            warned_checks=[str(c) for c in quality.get("warned_checks", [])],
            sources=entry.sources,
        )  # fmt: skip


__all__ = ["RunHistoryFiles"]

"""Files of actual outcomes: CSV or Parquet with ``request_id`` and ``actual_minutes`` columns."""

from __future__ import annotations

from pathlib import Path

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.ports.feedback import Actual

COLUMNS = ("request_id", "actual_minutes")


class FileActualsReader:
    """Reads outcomes from ``.csv`` or ``.parquet``; a missing file or column is one InvalidInputError."""

    def read(self, location: str) -> list[Actual]:
        import pandas as pd

        path = Path(location)
        if not path.is_file():
            raise InvalidInputError([FieldProblem("--source", f"{location} is not a file")])
        try:
            parquet = path.suffix == ".parquet"
            frame = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={"request_id": str})
        except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input, named in one line
            raise InvalidInputError([FieldProblem(location, f"cannot be read: {str(exc)[:200]}")]) from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidInputError([FieldProblem(location, f"missing column(s) {', '.join(missing)}")])
        minutes = pd.to_numeric(frame["actual_minutes"], errors="coerce").astype(float)
        ids = frame["request_id"].astype(str)
        return [Actual(rid, float(m)) for rid, m in zip(ids, minutes, strict=True)]

"""Outcomes of served requests from the feedback prediction log (read only: its schema is the feedback's)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tripcast.core.ports.experiments import OUTCOME_COLUMNS, OutcomeSource
from tripcast.core.ports.table import Table

#: Bound parameters per IN query (SQLite allows 32766).
_CHUNK = 5_000


class PredictionLogOutcomes(OutcomeSource):
    """``predicted`` and ``actual`` minutes of the logged requests whose actual outcome arrived."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def outcomes(self, request_ids: Sequence[str]) -> Table:
        import pandas as pd

        if not sa.inspect(self.engine).has_table("prediction_log"):
            return pd.DataFrame({name: pd.Series(dtype="object") for name in OUTCOME_COLUMNS})
        log = sa.table(
            "prediction_log",
            sa.column("request_id"),
            sa.column("predicted_minutes"),
            sa.column("actual_minutes"),
        )
        ids = list(dict.fromkeys(request_ids))
        rows: list[tuple[str, float, float]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                query = sa.select(log.c.request_id, log.c.predicted_minutes, log.c.actual_minutes).where(
                    log.c.request_id.in_(ids[start : start + _CHUNK]), log.c.actual_minutes.is_not(None)
                )
                rows.extend((str(r[0]), float(r[1]), float(r[2])) for r in conn.execute(query))
        return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)).astype({"predicted": "float64", "actual": "float64"})

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

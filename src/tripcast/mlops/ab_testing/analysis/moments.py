"""Per-arm, per-look sums of an experiment's observations, computed by DuckDB in one scan (no Python loop
over rows): everything the statistics need is a handful of sums per (arm, look).

Two cheap queries come first: the range of ``at`` (parquet statistics answer it without reading the
column) and the means of the first rows, used as shifts so that variances computed from sums of squares
keep their precision when the mean is large next to the spread. A missing covariate counts as that shift
(mean imputation: it then adds nothing to the covariate's sums).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

_TEMPORAL = ("TIMESTAMP", "DATE", "TIME")
_SHIFT_ROWS = 10_000


@dataclass(frozen=True)
class Moments:
    """Sums per (arm, look); arrays are shaped (arms, looks), looks in time order (not cumulative)."""

    arms: tuple[str, ...]
    exposed: np.ndarray  # (arms,) every exposed unit, with an outcome or not
    look_at: np.ndarray  # (looks,) end of each look (epoch seconds for times)
    n: np.ndarray
    sy: np.ndarray  # sum of (outcome - y_shift)
    syy: np.ndarray
    sx: np.ndarray  # sum of (covariate - x_shift) over units with an outcome
    sxx: np.ndarray
    sxy: np.ndarray
    y_shift: float
    has_covariate: bool
    step_counts: np.ndarray | None = None  # exposed units per canary step (``steps`` given to read_moments)


def read_moments(observations: Any, arms: tuple[str, ...], looks: int, steps: tuple[float, ...] = ()) -> Moments:
    """Sums of ``observations`` (pyarrow Table, pandas DataFrame or parquet path) per arm and look; with
    ``steps`` (seconds after the first ``at``, ascending), also the exposed units from each step to the next.

    Raises InvalidInputError naming what is missing: the outcome column, any row, an arm's outcomes, or
    an arm the definition does not know.
    """
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        columns = _register(con, observations)
        _require(columns, ("arm", "outcome"))
        at_expr, scale = _at_expression(columns.get("at", ""))
        covariate = "CAST(covariate AS DOUBLE)" if "covariate" in columns else "CAST(NULL AS DOUBLE)"
        lo, hi = (
            float(v) if v is not None else 0.0 for v in _one(con, f"SELECT min({at_expr}), max({at_expr}) FROM raw")
        )
        y_shift, x_shift = (
            float(v) if v is not None else 0.0
            for v in _one(
                con,
                f"SELECT avg(y), avg(x) FROM (SELECT CAST(outcome AS DOUBLE) AS y, {covariate} AS x FROM raw "
                f"WHERE outcome IS NOT NULL LIMIT {_SHIFT_ROWS})",
            )
        )
        looks = max(1, looks) if hi > lo else 1  # no times (or one instant): a single look
        width = max((hi - lo) / looks, 1e-9) if hi > lo else 1.0
        rows = con.execute(
            _MAIN_QUERY.format(at=at_expr, covariate=covariate),
            {"lo": lo, "w": width, "last": looks - 1, "ys": y_shift, "xs": x_shift},
        ).fetchnumpy()
        moments = _moments(rows, arms, looks, (lo + width * np.arange(1, looks + 1)) / scale, y_shift)
        if not steps:
            return moments
        return dataclasses.replace(moments, step_counts=_step_counts(con, at_expr, lo, scale, steps))
    finally:
        con.close()


_MAIN_QUERY = """
SELECT arm, look, count(*) AS exposed, count(y) AS n, sum(y) AS sy, sum(y * y) AS syy,
       sum(x) FILTER (y IS NOT NULL) AS sx, sum(x * x) FILTER (y IS NOT NULL) AS sxx, sum(x * y) AS sxy,
       count(x) FILTER (y IS NOT NULL) AS nx
FROM (
    SELECT CAST(arm AS VARCHAR) AS arm,
           CAST(outcome AS DOUBLE) - $ys AS y,
           {covariate} - $xs AS x,
           coalesce(LEAST(CAST(floor(({at} - $lo) / $w) AS BIGINT), $last), $last) AS look
    FROM raw
)
GROUP BY ALL
"""


def _step_counts(
    con: duckdb.DuckDBPyConnection, at: str, lo: float, scale: float, steps: tuple[float, ...]
) -> np.ndarray:
    """Exposed units per step: a step runs from its start to the next one's (the first also covers any
    unit before it)."""
    cases = " ".join(f"WHEN {at} >= {lo + s * scale!r} THEN {i}" for i, s in reversed(list(enumerate(steps))) if i)
    index = f"CASE {cases} ELSE 0 END" if cases else "0"
    rows = con.execute(f"SELECT {index} AS step, count(*) AS c FROM raw GROUP BY ALL").fetchall()
    counts = np.zeros(len(steps))
    for step, count in rows:
        counts[int(step)] += float(count)
    return counts


def _one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = con.execute(query).fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return tuple(row)


def _register(con: duckdb.DuckDBPyConnection, observations: Any) -> dict[str, str]:
    """Expose the observations as view ``raw``; return its column names -> DuckDB types."""
    if isinstance(observations, str | Path):
        con.read_parquet(str(observations)).create_view("raw")
    else:
        con.register("raw", observations)
    return {str(row[0]): str(row[1]) for row in con.execute("DESCRIBE raw").fetchall()}


def _require(columns: dict[str, str], needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InvalidInputError(
            [FieldProblem(c, f"column missing from the observations (have {sorted(columns)})") for c in missing]
        )


def _at_expression(at_type: str) -> tuple[str, float]:
    """SQL for ``at`` as a number (integer microseconds for times: cheaper than ``epoch``'s doubles), and
    the divisor that turns it into seconds."""
    if not at_type:
        return "0", 1.0
    if at_type.startswith(_TEMPORAL):
        plain = at_type in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
        return ('epoch_us("at")' if plain else 'epoch_us(CAST("at" AS TIMESTAMP))'), 1e6
    return 'CAST("at" AS DOUBLE)', 1.0


def _grid(
    rows: dict[str, Any], column: str, arm_idx: np.ndarray, look_idx: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    grid = np.zeros(shape)
    values = np.nan_to_num(np.asarray(rows[column], dtype=float))  # an empty sum is NULL: it adds nothing
    np.add.at(grid, (arm_idx, look_idx), values)
    return grid


def _moments(rows: dict[str, Any], arms: tuple[str, ...], looks: int, look_at: np.ndarray, y_shift: float) -> Moments:
    names = [str(a) for a in rows["arm"]]
    if not names:
        raise InvalidInputError([FieldProblem("observations", "no rows to analyse")])
    unknown = sorted(set(names) - set(arms))
    if unknown:
        raise InvalidInputError(
            [FieldProblem("arm", f"arm {a!r} is not in the experiment {list(arms)}") for a in unknown]
        )
    arm_idx = np.array([arms.index(a) for a in names], dtype=int)
    look_idx = np.asarray(rows["look"], dtype=int)
    shape = (len(arms), looks)
    grids = {
        c: _grid(rows, c, arm_idx, look_idx, shape) for c in ("exposed", "n", "sy", "syy", "sx", "sxx", "sxy", "nx")
    }
    empty = [a for i, a in enumerate(arms) if grids["n"][i].sum() == 0]
    if empty:
        raise InvalidInputError([FieldProblem("outcome", f"arm {a!r} has no outcomes yet") for a in empty])
    return Moments(
        arms=arms,
        exposed=grids["exposed"].sum(axis=1).astype(int),
        look_at=look_at,
        n=grids["n"],
        sy=grids["sy"],
        syy=grids["syy"],
        sx=grids["sx"],
        sxx=grids["sxx"],
        sxy=grids["sxy"],
        y_shift=y_shift,
        has_covariate=bool(grids["nx"].sum() > 1),
    )

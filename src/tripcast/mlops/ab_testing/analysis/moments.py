"""Per-arm, per-look sums of an experiment's observations, computed by DuckDB in two scans (no Python loop
over rows): everything the statistics need is a handful of sums per (arm, look).

Sums are centred on the overall means (first scan) so that variances from sums of squares do not lose
precision when the mean is large next to the spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

_TEMPORAL = ("TIMESTAMP", "DATE", "TIME")


@dataclass(frozen=True)
class Moments:
    """Sums per (arm, look); arrays are shaped (arms, looks), looks in time order (not cumulative)."""

    arms: tuple[str, ...]
    exposed: np.ndarray  # (arms,) every exposed unit, with an outcome or not
    look_at: np.ndarray  # (looks,) end of each look (epoch seconds for times)
    n: np.ndarray
    sy: np.ndarray  # sum of (outcome - y_shift)
    syy: np.ndarray
    sx: np.ndarray  # sum of (covariate - x_shift), a missing covariate counting as x_shift
    sxx: np.ndarray
    sxy: np.ndarray
    y_shift: float
    has_covariate: bool


def read_moments(observations: Any, arms: tuple[str, ...], looks: int) -> Moments:
    """Sums of ``observations`` (pyarrow Table, pandas DataFrame or parquet path) per arm and look.

    Raises InvalidInputError naming what is missing: the outcome column, any row, an arm's outcomes, or
    an arm the definition does not know.
    """
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        columns = _register(con, observations)
        _require(columns, ("arm", "outcome"))
        con.execute(f"CREATE TEMP VIEW src AS SELECT {_select_list(columns)} FROM raw")
        first = con.execute(
            "SELECT arm, count(*), count(outcome), avg(outcome), avg(covariate) FILTER (outcome IS NOT NULL), "
            "count(covariate) FILTER (outcome IS NOT NULL), min(at_num), max(at_num) FROM src GROUP BY arm"
        ).fetchall()
        return _second_scan(con, first, arms, max(1, looks))
    finally:
        con.close()


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


def _select_list(columns: dict[str, str]) -> str:
    covariate = "CAST(covariate AS DOUBLE)" if "covariate" in columns else "CAST(NULL AS DOUBLE)"
    at_type = columns.get("at", "")
    if not at_type:
        at = "0.0"
    elif at_type.startswith(_TEMPORAL):
        at = 'epoch("at")'
    else:
        at = 'CAST("at" AS DOUBLE)'
    return f"CAST(arm AS VARCHAR) AS arm, CAST(outcome AS DOUBLE) AS outcome, {covariate} AS covariate, {at} AS at_num"


def _check_arms(first: list[tuple[Any, ...]], arms: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    if not first or sum(int(row[1]) for row in first) == 0:
        raise InvalidInputError([FieldProblem("observations", "no rows to analyse")])
    by_arm = {str(row[0]): row for row in first}
    problems = [
        FieldProblem("arm", f"arm {name!r} is not in the experiment {list(arms)}")
        for name in by_arm
        if name not in arms
    ]
    problems += [
        FieldProblem("outcome", f"arm {name!r} has no outcomes yet")
        for name in arms
        if name not in by_arm or int(by_arm[name][2]) == 0
    ]
    if problems:
        raise InvalidInputError(problems)
    return by_arm


def _second_scan(
    con: duckdb.DuckDBPyConnection, first: list[tuple[Any, ...]], arms: tuple[str, ...], looks: int
) -> Moments:
    by_arm = _check_arms(first, arms)
    n_out = np.array([float(by_arm[a][2]) for a in arms])
    y_shift = float(np.average([float(by_arm[a][3]) for a in arms], weights=n_out))
    x_means = [(float(by_arm[a][4]), float(by_arm[a][5])) for a in arms if by_arm[a][4] is not None]
    has_covariate = bool(x_means) and sum(count for _, count in x_means) > 1
    x_shift = float(np.average([m for m, _ in x_means], weights=[c for _, c in x_means])) if has_covariate else 0.0
    lo = min((float(by_arm[a][6]) for a in arms if by_arm[a][6] is not None), default=0.0)
    hi = max((float(by_arm[a][7]) for a in arms if by_arm[a][7] is not None), default=0.0)
    width = (hi - lo) / looks if hi > lo else 1.0
    rows = con.execute(
        "SELECT arm, coalesce(LEAST(CAST(floor((at_num - $lo) / $w) AS BIGINT), $last), $last) AS look, "
        "count(*) AS n, sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy "
        "FROM (SELECT arm, at_num, outcome - $ys AS y, coalesce(covariate, $xs) - $xs AS x "
        "FROM src WHERE outcome IS NOT NULL) "
        "GROUP BY ALL",
        {"lo": lo, "w": width, "last": looks - 1, "ys": y_shift, "xs": x_shift},
    ).fetchnumpy()
    index = {name: i for i, name in enumerate(arms)}
    arm_idx = np.array([index[str(a)] for a in rows["arm"]], dtype=int)
    look_idx = np.asarray(rows["look"], dtype=int)
    grids = []
    for column in ("n", "sy", "syy", "sx", "sxx", "sxy"):
        grid = np.zeros((len(arms), looks))
        np.add.at(grid, (arm_idx, look_idx), np.asarray(rows[column], dtype=float))
        grids.append(grid)
    return Moments(
        arms=arms,
        exposed=np.array([int(by_arm[a][1]) for a in arms]),
        look_at=lo + width * np.arange(1, looks + 1),
        n=grids[0],
        sy=grids[1],
        syy=grids[2],
        sx=grids[3],
        sxx=grids[4],
        sxy=grids[5],
        y_shift=y_shift,
        has_covariate=has_covariate,
    )

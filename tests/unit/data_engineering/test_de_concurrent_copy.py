"""Concurrent DuckDB writes: the same files as one query at a time, every error raised, settings restored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from tripcast.data_engineering.transformation import ParquetOutput, open_engine
from tripcast.data_engineering.transformation.concurrent_copy import run_statements


def _copy(n: int, target: Path) -> str:
    return f"COPY (SELECT range AS v, range % 7 AS k FROM range({n})) TO '{target}' (FORMAT parquet)"


def test_every_statement_runs_and_the_thread_setting_comes_back(tmp_path: Path) -> None:
    con = duckdb.connect(config={"threads": 2})
    statements = [_copy(1000 * (i + 1), tmp_path / f"part-{i}.parquet") for i in range(7)]
    run_statements(con, statements, concurrency=3)
    assert [len(pd.read_parquet(tmp_path / f"part-{i}.parquet")) for i in range(7)] == [
        1000 * (i + 1) for i in range(7)
    ]
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2


def test_a_failing_statement_is_raised_and_the_rest_cancelled(tmp_path: Path) -> None:
    con = duckdb.connect(config={"threads": 2})
    statements = [
        _copy(10, tmp_path / "a.parquet"),
        "COPY (SELECT * FROM no_such_table) TO 'x.parquet' (FORMAT parquet)",
        *[_copy(10, tmp_path / f"later-{i}.parquet") for i in range(50)],
    ]
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        run_statements(con, statements, concurrency=2)
    assert len(list(tmp_path.glob("later-*.parquet"))) < 50  # the queue stopped at the failure
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_concurrent_outputs_equal_one_at_a_time(tmp_path: Path, concurrency: int) -> None:
    """In-memory tables, engine-read parquet and range splits are visible to every cursor."""
    frame = pd.DataFrame({"zone": [i % 40 for i in range(4000)], "v": range(4000)})
    source = tmp_path / "source.parquet"
    frame.to_parquet(source)
    lookup = ibis.memtable(pd.DataFrame({"zone": range(40), "name": [f"z{i}" for i in range(40)]}))
    with open_engine("duckdb", threads=2, write_concurrency=concurrency) as engine:
        table = engine.read_parquet(source)
        joined = table.join(lookup, "zone")
        per_zone = table.group_by("zone").aggregate(total=table.v.sum(), rows=table.count())
        written = engine.write_outputs(
            [
                ParquetOutput(joined, tmp_path / "joined"),
                ParquetOutput(per_zone, tmp_path / "per_zone", split_by="zone", splits=4),
            ]
        )
    joined_rows = pd.read_parquet(written[0]).sort_values("v", ignore_index=True)
    assert joined_rows.name.tolist() == [f"z{i % 40}" for i in range(4000)]
    assert len(list(written[1].glob("part-*.parquet"))) == 4
    totals = pd.read_parquet(written[1]).sort_values("zone", ignore_index=True)
    expected = frame.groupby("zone").v.agg(["sum", "size"]).reset_index()
    assert totals.total.tolist() == expected["sum"].tolist()
    assert totals.rows.tolist() == expected["size"].tolist()


def test_a_failed_write_leaves_no_output_directory(tmp_path: Path) -> None:
    with open_engine("duckdb", threads=2) as engine:
        good = ibis.memtable(pd.DataFrame({"x": [1, 2, 3]}))
        bad = good.mutate(y=good.x.cast("string").cast("int32") + ibis.literal("nope").cast("int32"))
        with pytest.raises(Exception, match="nope"):
            engine.write_outputs([ParquetOutput(good, tmp_path / "good"), ParquetOutput(bad, tmp_path / "bad")])
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_write_concurrency_must_be_positive() -> None:
    from tripcast.core.domain.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="write_concurrency"), open_engine("duckdb", write_concurrency=0):
        pass


def test_statements_run_while_the_generator_still_builds_them(tmp_path: Path) -> None:
    con = duckdb.connect(config={"threads": 2})
    started: list[int] = []

    def statements():
        for i in range(4):
            started.append(i)
            yield _copy(100, tmp_path / f"part-{i}.parquet")
        raise RuntimeError("the fifth part could not be compiled")

    with pytest.raises(RuntimeError, match="fifth part"):
        run_statements(con, statements(), concurrency=2)
    assert started == [0, 1, 2, 3]
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2

"""Execution engines for the Ibis transformations: DuckDB (default, in-process) and PySpark local/cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


@dataclass
class Engine:
    """An Ibis backend plus the few operations whose mechanics differ between engines."""

    name: str
    con: Any
    spark: Any = None

    def read_parquet(self, path: str | Path) -> ir.Table:
        """A parquet file or a directory of parquet files as a table."""
        path = Path(path)
        if self.name == "duckdb" and path.is_dir():
            return self.con.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=False)
        return self.con.read_parquet(str(path))

    def write_parquet(
        self, expr: ir.Table, directory: str | Path, *, split_by: str | None = None, splits: int = 1
    ) -> Path:
        """Replace ``directory`` with the expression's rows as parquet part files; return the directory.

        Writing to a sibling temp dir and renaming keeps a crashed run from leaving a
        half-written partition that a rerun would mistake for a finished one.

        ``split_by``/``splits`` (DuckDB) write the result in ``splits`` ranges of an integer
        column, one part file each, in ascending order. The filter is pushed below the
        aggregations, so a big grouped median holds only one range's groups in memory at a
        time; a result sorted by ``split_by`` first stays globally sorted across the parts.
        """
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if self.name == "spark":
            self.con.to_parquet(expr, str(tmp), mode="overwrite")
        else:
            tmp.mkdir(parents=True)
            if split_by is None or splits <= 1:
                self.con.to_parquet(expr, str(tmp / "part-0000.parquet"))
            else:
                for i, (low, high) in enumerate(
                    _ranges(self.con.execute(expr[split_by].min()), self.con.execute(expr[split_by].max()), splits)
                ):
                    self.con.to_parquet(
                        expr.filter(expr[split_by].between(low, high)), str(tmp / f"part-{i:04d}.parquet")
                    )
        shutil.rmtree(directory, ignore_errors=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, directory)
        return directory

    def close(self) -> None:
        """Release the connection (the Spark session is left to its owner)."""
        if self.name == "duckdb":
            self.con.disconnect()


def _ranges(low: Any, high: Any, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous inclusive integer ranges covering ``[low, high]`` (none for an empty input)."""
    if low is None or high is None or low != low:  # empty table: min/max are null
        return []
    low, high = int(low), int(high)
    step = max(1, -(-(high - low + 1) // parts))
    return [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]


def spark_session(master: str = "local[2]", shuffle_partitions: int = 4) -> Any:
    """A Spark session tuned for local runs; UTC so naive timestamps never shift with the host zone."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName("tripcast")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("TRIPCAST_SPARK_DRIVER_MEMORY", "2g"))
        .getOrCreate()
    )


@contextmanager
def open_engine(name: str = "duckdb", *, spark: Any = None, threads: int | None = None) -> Iterator[Engine]:
    """Open an engine by name; ``spark`` reuses an existing SparkSession (else one is created)."""
    if name not in ENGINES:
        raise InvalidInputError([FieldProblem("engine", f"{name!r} is not one of {', '.join(ENGINES)}")])
    if name == "duckdb":
        config: dict[str, Any] = {"threads": threads} if threads else {}
        # Bounded memory: DuckDB spills big sorts/aggregations to disk instead of growing without limit.
        config["memory_limit"] = os.environ.get("TRIPCAST_DUCKDB_MEMORY_LIMIT", "3GB")
        config["temp_directory"] = str(Path(tempfile.gettempdir()) / "tripcast-duckdb")
        # Outputs that need an order say so with ORDER BY; not preserving scan order saves memory.
        config["preserve_insertion_order"] = False
        engine = Engine("duckdb", ibis.duckdb.connect(**config))
    else:
        session = spark if spark is not None else spark_session()
        engine = Engine("spark", ibis.pyspark.connect(session), spark=session)
    try:
        yield engine
    finally:
        engine.close()

"""Execution engines for the Ibis transformations: DuckDB (default, in-process) and PySpark local/cluster."""

from __future__ import annotations

import os
import shutil
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

    def write_parquet(self, expr: ir.Table, directory: str | Path) -> Path:
        """Replace ``directory`` with the expression's rows as parquet part files; return the directory.

        Writing to a sibling temp dir and renaming keeps a crashed run from leaving a
        half-written partition that a rerun would mistake for a finished one.
        """
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if self.name == "spark":
            self.con.to_parquet(expr, str(tmp), mode="overwrite")
        else:
            tmp.mkdir(parents=True)
            self.con.to_parquet(expr, str(tmp / "part-0.parquet"))
        shutil.rmtree(directory, ignore_errors=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, directory)
        return directory

    def close(self) -> None:
        """Release the connection (the Spark session is left to its owner)."""
        if self.name == "duckdb":
            self.con.disconnect()


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
        config = {"threads": threads} if threads else {}
        engine = Engine("duckdb", ibis.duckdb.connect(**config))
    else:
        session = spark if spark is not None else spark_session()
        engine = Engine("spark", ibis.pyspark.connect(session), spark=session)
    try:
        yield engine
    finally:
        engine.close()

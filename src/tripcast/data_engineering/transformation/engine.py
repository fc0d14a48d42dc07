"""Execution engines for the Ibis transformations: DuckDB (default, in-process) and PySpark local/cluster."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.data_engineering.tlc.zones import ZoneLookup
from tripcast.data_engineering.transformation.concurrent_copy import run_statements
from tripcast.data_engineering.transformation.enrichment import ZONE_NAME_COLUMNS, zone_frame, zones_table

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")

#: DuckDB queries :meth:`Engine.write_outputs` runs at once, sharing the engine's threads between them
#: (:mod:`~tripcast.data_engineering.transformation.concurrent_copy` says why).
WRITE_CONCURRENCY = 2

#: :meth:`Engine.materialize` keeps a result in memory up to this share of DuckDB's memory limit,
#: leaving the rest to the aggregations that read it (the 114 MB benchmark input's history is
#: about 0.2 GB, the 1 GB one's 1.8 GB against a 3 GB limit).
IN_MEMORY_SHARE = 0.25

_relation_ids = itertools.count()
_BYTE_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_BYTE_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


@dataclass(frozen=True)
class ParquetOutput:
    """One output of :meth:`Engine.write_outputs`: ``expr``'s rows as parquet part files in ``directory``.

    ``split_by``/``splits`` (DuckDB) write the result in up to ``splits`` ranges of an integer
    column, one part file each, in ascending order. The filter is pushed below the aggregations,
    so a big grouped median holds only one range's groups in memory at a time; a result sorted by
    ``split_by`` first stays globally sorted across the parts. The cut points are only a balance
    hint (see :func:`_split_filters`): the first and last ranges are open-ended and the last one
    also takes nulls, so no row can fall outside.
    """

    expr: ir.Table
    directory: Path
    split_by: str | None = None
    splits: int = 1


@dataclass
class Engine:
    """An Ibis backend plus the few operations whose mechanics differ between engines.

    On DuckDB every table the engine creates (:meth:`read_parquet`, :meth:`materialize`,
    :meth:`zone_table`) lives in the database, not in one connection's temp schema, so
    :meth:`write_outputs` can run several queries at once on cursors of the same database.
    """

    name: str
    con: Any
    spark: Any = None
    write_concurrency: int = WRITE_CONCURRENCY
    _materialized: list[Path] = field(default_factory=list)
    _shared: set[str] = field(default_factory=set)

    def read_parquet(self, path: str | Path) -> ir.Table:
        """A parquet file or a directory of parquet files as a table."""
        path = Path(path)
        if self.name == "spark":
            return self.con.read_parquet(str(path))
        pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        name = f"tripcast_parquet_{next(_relation_ids)}"
        self.con.con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_string(pattern)}, hive_partitioning=false)"
        )
        return self.con.table(name)

    def write_parquet(
        self, expr: ir.Table, directory: str | Path, *, split_by: str | None = None, splits: int = 1
    ) -> Path:
        """Replace ``directory`` with the expression's rows as parquet part files; return the directory.

        One :class:`ParquetOutput` through :meth:`write_outputs`; see there.
        """
        return self.write_outputs([ParquetOutput(expr, Path(directory), split_by, splits)])[0]

    def write_outputs(self, outputs: Sequence[ParquetOutput]) -> list[Path]:
        """Write every output, replacing its directory; return the directories in the same order.

        Each output is written to a sibling temp dir and renamed only once every part of every
        output is written: a crashed run leaves no half-written partition that a rerun would
        mistake for a finished one. DuckDB runs the part files of all outputs as one queue of
        ``COPY`` queries, :attr:`write_concurrency` at a time, in the order given (put the
        biggest output first, so the others fill the second slot around it); the files are the
        same as written one at a time.
        """
        # Hidden staging names: readers glob ``month=*`` (and pyarrow skips dot names), so a run killed mid-write
        # leaves nothing a reader could take for a partition; the next run overwrites it.
        staged = [(out.directory.with_name(f".{out.directory.name}.staging"), out.directory) for out in outputs]
        try:
            if self.name == "spark":
                for out, (tmp, _) in zip(outputs, staged, strict=True):
                    shutil.rmtree(tmp, ignore_errors=True)
                    self.con.to_parquet(out.expr, str(tmp), mode="overwrite")
            else:
                statements = self._copy_statements(outputs, [tmp for tmp, _ in staged])
                run_statements(self.con.con, statements, self.write_concurrency)
        except BaseException:
            for tmp, _ in staged:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        for tmp, directory in staged:
            _swap_in(tmp, directory)
        return [directory for _, directory in staged]

    def _copy_statements(self, outputs: Sequence[ParquetOutput], directories: Sequence[Path]) -> Iterator[str]:
        """The ``COPY`` of every part file (DuckDB), compiled as they are asked for.

        Compiling a part takes Ibis 5-30 ms and a 1 GB run has over a hundred: generated lazily,
        the first parts run while the rest compile instead of DuckDB waiting for all of them.
        """
        for out, directory in zip(outputs, directories, strict=True):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            for i, sql in enumerate(self._part_queries(out)):
                yield _copy_statement(sql, directory / f"part-{i:04d}.parquet")

    def _part_queries(self, out: ParquetOutput) -> Iterator[str]:
        """The SQL of each part file of ``out`` (DuckDB), in part order."""
        self._share_in_memory_tables(out.expr)
        if out.split_by is None or out.splits <= 1:
            yield self.con.compile(out.expr)
            return
        cuts = _cut_points(self._split_weights(out.expr, out.split_by), out.splits)
        for keep in _split_filters(out.expr[out.split_by], cuts):
            yield self.con.compile(out.expr.filter(keep))

    def _share_in_memory_tables(self, expr: ir.Table) -> None:
        """Copy the in-memory tables ``expr`` reads (``ibis.memtable``) into the database.

        Ibis registers them on its own connection only, where the cursors of a concurrent write
        cannot see them; a database table of the same name and rows is visible to every cursor.
        """
        for op in expr.op().find(ops.InMemoryTable):
            if op.name not in self._shared:
                self.con.con.from_arrow(op.data.to_pyarrow(op.schema)).to_table(op.name)
                self._shared.add(op.name)

    def _split_weights(self, expr: ir.Table, column: str) -> list[tuple[int, int]]:
        """``(value, rows)`` of ``column`` in the cheapest table that has it, ascending.

        Asking the result itself for its value range would run the whole (expensive) aggregation
        once more, so the weights come from a source table of the expression when one carries
        the column (the input rows per pickup zone: exactly what a range's work grows with).
        """
        source = next((t for t in _source_tables(expr) if column in t.columns), expr)
        counts = self.con.execute(source.group_by(column).aggregate(rows=source.count()).order_by(column))
        pairs = zip(counts[column], counts["rows"], strict=True)
        return [(int(v), int(n)) for v, n in pairs if v is not None and v == v]  # v != v: a NaN null

    def materialize(self, expr: ir.Table, cluster_by: Sequence[str] = ()) -> ir.Table:
        """Compute ``expr`` once and return it as a table, so several outputs (and range-split
        writes) reuse it instead of re-reading and re-cleaning the raw input each time.

        DuckDB: rows are stored in ``cluster_by`` order, so rows of one group sit together (later
        grouped aggregates touch few hash-table entries at a time) and a range filter on the first
        column reads only the row groups whose min/max statistics overlap the range. Where they go
        depends on their size (:meth:`_fits_in_memory`): a small result becomes an in-memory table
        (no parquet encoding and decoding: 114 MB of input ran 6-8% faster end to end); a big one a
        parquet file in the engine's temp directory, which takes no buffer memory (an in-memory
        table of 46M trips held 1.5 GB of the 3 GB limit and pushed the aggregations into
        spilling). Either lives until :meth:`close`.
        Spark: a cached DataFrame (``cluster_by`` is ignored: a global sort there costs a shuffle).
        """
        if self.name == "spark":
            return expr.cache()
        if cluster_by:
            expr = expr.order_by(list(cluster_by))
        self._share_in_memory_tables(expr)
        sql = self.con.compile(expr)
        if self._fits_in_memory(expr):
            name = f"tripcast_materialized_{next(_relation_ids)}"
            run_statements(self.con.con, [f"CREATE TABLE {name} AS {sql}"], self.write_concurrency)
            return self.con.table(name)
        path = Path(tempfile.mkdtemp(prefix="tripcast-materialized-")) / "part-0000.parquet"
        self._materialized.append(path.parent)
        run_statements(self.con.con, [_copy_statement(sql, path)], self.write_concurrency)
        return self.read_parquet(path)

    def _fits_in_memory(self, expr: ir.Table) -> bool:
        """Whether ``expr``'s rows, at most as many as its source tables hold, take at most
        :data:`IN_MEMORY_SHARE` of DuckDB's memory limit as an in-memory table.

        Counting a parquet source reads only its footer, so the bound is free; the row width is an
        estimate from the column types (see :func:`_column_bytes`).
        """
        rows = sum(int(self.con.execute(table.count())) for table in _source_tables(expr))
        width = sum(_column_bytes(dtype) for dtype in expr.schema().types)
        return rows * width <= IN_MEMORY_SHARE * self._memory_limit_bytes()

    def _memory_limit_bytes(self) -> float:
        """DuckDB's memory limit as it reports it (``current_setting('memory_limit')``, e.g. "2.7 GiB")."""
        (setting,) = self.con.con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        return _parse_bytes(setting)

    def zone_table(self, zones: ZoneLookup | None = None) -> ir.Table:
        """The zone lookup for :func:`enrich_with_zones`, stored the way this engine joins and writes cheapest.

        DuckDB: a table whose name columns are ENUM types. The enriched trips then carry small
        enum codes instead of strings through the join, and the parquet writer emits dictionary pages
        straight from the codes instead of hashing every string of every row (the six zone-name
        columns were about 40% of the trips write). The files are the same: plain string columns,
        dictionary encoded, and Ibis reads the table as strings. Spark: the in-memory table.
        """
        if self.name == "spark":
            return zones_table(zones)
        raw = self.con.con
        raw.register("tripcast_zone_frame", zone_frame(zones))  # a database table below, not a temp one
        try:
            for column in ZONE_NAME_COLUMNS:
                raw.execute(
                    f"CREATE OR REPLACE TYPE tripcast_{column} AS ENUM "
                    f"(SELECT DISTINCT {column} FROM tripcast_zone_frame ORDER BY {column})"
                )
            names = ", ".join(f"CAST({c} AS tripcast_{c}) AS {c}" for c in ZONE_NAME_COLUMNS)
            raw.execute(f"CREATE OR REPLACE TABLE tripcast_zones AS SELECT zone_id, {names} FROM tripcast_zone_frame")
        finally:
            raw.unregister("tripcast_zone_frame")
        return self.con.table("tripcast_zones")

    def close(self) -> None:
        """Release materialised tables and the connection (the Spark session is left to its owner)."""
        if self.name == "duckdb":
            self.con.disconnect()
            for directory in self._materialized:
                shutil.rmtree(directory, ignore_errors=True)
            self._materialized.clear()


def _parse_bytes(text: str) -> float:
    """``"2.7 GiB"`` / ``"3GB"`` / ``"512 bytes"`` as a number of bytes."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower().removesuffix("ytes") if match else None
    if match is None or unit not in _BYTE_UNITS:
        raise ValueError(f"not a size in bytes: {text!r}")
    return float(match.group(1)) * _BYTE_UNITS[unit]


def _column_bytes(dtype: Any) -> int:
    """Estimated bytes per value of an Ibis type in a DuckDB in-memory table.

    The value itself (4 for a 32-bit number, 16 for a string header, 8 otherwise) plus 2 for the
    validity mask and segment overhead: the benchmark's history (two int32, a timestamp, two
    doubles) measured 41.6 bytes per row in ``duckdb_memory()``, this gives 42.
    """
    if dtype.is_string():
        value = 16
    elif (dtype.is_integer() or dtype.is_floating()) and getattr(dtype, "nbytes", 8) <= 4:
        value = 4
    else:
        value = 8
    return value + 2


def _sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _copy_statement(sql: str, path: Path) -> str:
    return f"COPY ({sql}) TO {_sql_string(str(path))} (FORMAT parquet)"


def _source_tables(expr: ir.Table) -> list[ir.Table]:
    """The physical tables (files, temp tables, in-memory tables) an expression reads."""
    found = expr.op().find(ops.PhysicalTable)
    return [op.to_expr() for op in found]


def _cut_points(weights: list[tuple[int, int]], parts: int) -> list[int]:
    """Upper bounds of up to ``parts`` ranges of roughly equal total weight (the last range has none).

    A single very heavy value gets a range of its own; the result never has more than
    ``parts - 1`` cuts, and none at all for fewer than two distinct values.
    """
    if len(weights) < 2 or parts <= 1:
        return []
    total = sum(n for _, n in weights)
    cuts: list[int] = []
    running = 0
    for value, n in weights[:-1]:
        running += n
        if running >= total * (len(cuts) + 1) / parts:
            cuts.append(value)
            if len(cuts) == parts - 1:
                break
    return cuts


def _split_filters(column: ir.IntegerColumn, cuts: list[int]) -> list[ir.BooleanValue]:
    """Filters for the ranges ``(-inf, c1], (c1, c2], ..., (ck, +inf) + nulls``: every row in exactly one."""
    if not cuts:
        return [ibis.literal(True)]
    filters: list[ir.BooleanValue] = [column <= cuts[0]]
    filters += [(column > low) & (column <= high) for low, high in itertools.pairwise(cuts)]
    # Nulls sort last in an ascending ORDER BY on both engines, so they belong to the last part.
    filters.append((column > cuts[-1]) | column.isnull())
    return filters


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
def open_engine(
    name: str = "duckdb",
    *,
    spark: Any = None,
    threads: int | None = None,
    write_concurrency: int = WRITE_CONCURRENCY,
) -> Iterator[Engine]:
    """Open an engine by name; ``spark`` reuses an existing SparkSession (else one is created).

    ``threads`` caps DuckDB's worker threads (default: one per core); ``write_concurrency`` is how
    many queries :meth:`Engine.write_outputs` runs at once on DuckDB.
    """
    if name not in ENGINES:
        raise InvalidInputError([FieldProblem("engine", f"{name!r} is not one of {', '.join(ENGINES)}")])
    if write_concurrency < 1:
        raise InvalidInputError([FieldProblem("write_concurrency", f"must be at least 1, got {write_concurrency}")])
    if name == "duckdb":
        config: dict[str, Any] = {"threads": threads} if threads else {}
        # Bounded memory: DuckDB spills big sorts/aggregations to disk instead of growing without limit.
        config["memory_limit"] = os.environ.get("TRIPCAST_DUCKDB_MEMORY_LIMIT", "3GB")
        config["temp_directory"] = str(Path(tempfile.gettempdir()) / "tripcast-duckdb")
        # Outputs that need an order say so with ORDER BY; not preserving scan order saves memory.
        config["preserve_insertion_order"] = False
        engine = Engine("duckdb", ibis.duckdb.connect(**config), write_concurrency=write_concurrency)
    else:
        session = spark if spark is not None else spark_session()
        engine = Engine("spark", ibis.pyspark.connect(session), spark=session)
    try:
        yield engine
    finally:
        engine.close()


def _swap_in(staged: Path, directory: Path) -> None:
    """Give ``staged`` the name ``directory``: the old directory is renamed aside (hidden) and deleted only once
    the new one holds the name, so a crash leaves the old or the new output there, except in the instant
    between two renames (never while a big directory is being deleted)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    retired = directory.with_name(f".{directory.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if directory.exists():
        os.rename(directory, retired)
    os.replace(staged, directory)
    shutil.rmtree(retired, ignore_errors=True)

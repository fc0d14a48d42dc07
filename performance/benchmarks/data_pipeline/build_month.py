"""Build a big raw TLC *month* file (TLC column names, one month of pickups) by repeating a real month.

`tripcast validate` and `tripcast pipeline run` take one month's raw file; this repeats the rows of a
real TLC month (same columns, same types, same dates: every copy stays inside the month) until the file
reaches the target size, one row group per copy, so memory stays at one copy while writing.

    python performance/benchmarks/data_pipeline/build_month.py --target-mb 300 \
        --source /work/shared/data/nyc-taxi/green_tripdata_2021-01.parquet \
        --target /tmp/tcb/raw300/green_tripdata_2021-01.parquet
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def build(source: Path, target: Path, target_mb: float) -> tuple[int, float]:
    """Write ``target`` from copies of ``source``; return (rows, megabytes)."""
    table = pq.read_table(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows, copy = 0, 0
    times = [name for name in table.column_names if name.endswith(("pickup_datetime", "dropoff_datetime"))]
    with pq.ParquetWriter(target, table.schema, compression="snappy") as writer:
        while True:
            shifted = table
            for name in times:
                column = table[name]
                moved = pc.add(column, pa.scalar(copy * 1_000_000, pa.duration("us")))
                shifted = shifted.set_column(shifted.schema.get_field_index(name), name, moved.cast(column.type))
            writer.write_table(shifted)
            rows += table.num_rows
            copy += 1
            # The footer is written on close; check the size of what is flushed so far.
            if target.stat().st_size / 1e6 >= target_mb:
                break
    return rows, target.stat().st_size / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--source", type=Path, default=Path("/work/shared/data/nyc-taxi/green_tripdata_2021-01.parquet")
    )
    parser.add_argument("--target", type=Path, required=True, help="…/green_tripdata_YYYY-MM.parquet")
    parser.add_argument("--target-mb", type=float, default=300.0)
    args = parser.parse_args(argv)
    rows, mb = build(args.source, args.target, args.target_mb)
    print(f"wrote {args.target}: {rows:,} rows, {mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

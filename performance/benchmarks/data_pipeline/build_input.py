"""Build a large canonical-trips parquet from the real TLC months by repeating them with shifted dates.

Each repetition shifts pickup and dropoff times by a whole number of weeks (so weekday patterns
survive) and is written as its own row group, so memory stays at one repetition while writing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tripcast.data_engineering.tlc.files import read_tlc_file

SHIFT_WEEKS = 13  # the three real months span 13 weeks


def real_months(data_dir: Path) -> pd.DataFrame:
    frames = [read_tlc_file(data_dir / f"green_tripdata_2021-0{m}.parquet") for m in (1, 2, 3)]
    return pd.concat(frames, ignore_index=True)


def build(data_dir: Path, target: Path, target_mb: float) -> tuple[int, float]:
    """Write ``target``; return (rows, megabytes)."""
    base = real_months(data_dir)
    table = pa.Table.from_pandas(base, preserve_index=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows, k = 0, 0
    with pq.ParquetWriter(target, table.schema, compression="snappy") as writer:
        while True:
            shift = pd.Timedelta(weeks=SHIFT_WEEKS * k)
            shifted = base.assign(
                pickup_datetime=base.pickup_datetime + shift, dropoff_datetime=base.dropoff_datetime + shift
            )
            writer.write_table(pa.Table.from_pandas(shifted, schema=table.schema, preserve_index=False))
            rows += len(shifted)
            k += 1
            # The footer is written on close; check the size of what is flushed so far.
            if target.stat().st_size / 1e6 >= target_mb:
                break
    return rows, target.stat().st_size / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[4] / "shared/data/nyc-taxi")
    parser.add_argument("--target", type=Path, default=Path("/tmp/tripcast-bench/trips.parquet"))
    parser.add_argument("--target-mb", type=float, default=1024.0)
    args = parser.parse_args(argv)
    rows, mb = build(args.data_dir, args.target, args.target_mb)
    print(f"wrote {args.target}: {rows:,} rows, {mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-stage DuckDB timings of the benchmark pipeline, and EXPLAIN ANALYZE of one stage's compiled SQL.

python performance/benchmarks/data_pipeline/profile_stages.py --input /tmp/tripcast-bench/t50.parquet
python performance/benchmarks/data_pipeline/profile_stages.py --input ... --explain zone_pair
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ibis

from tripcast.data_engineering.transformation import open_engine, transform_trips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tripcast-bench/profile"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stages", default="trips,quarantine,zone_hour,zone_pair")
    parser.add_argument("--explain", default=None, help="print EXPLAIN ANALYZE of this stage instead of timing")
    args = parser.parse_args(argv)
    with open_engine("duckdb", threads=args.threads) as eng:
        # The benchmark's plan: no month, no final sort, ENUM zone names. The aggregates read the raw
        # input here (no materialised history), so each stage's SQL stands alone.
        outputs = transform_trips(eng.read_parquet(args.input), None, zone_table=eng.zone_table(), ordered=False)
        stages = dict(outputs.items())
        if args.explain:
            eng.con.execute(stages[args.explain].limit(0))  # registers in-memory tables (the zone lookup)
            sql = ibis.to_sql(stages[args.explain], dialect="duckdb")
            print(sql)
            target = args.out / f"{args.explain}.parquet"
            args.out.mkdir(parents=True, exist_ok=True)
            rows = eng.con.raw_sql(f"EXPLAIN ANALYZE COPY ({sql}) TO '{target}' (FORMAT parquet)").fetchall()
            for row in rows:
                print(row[-1])
            return 0
        for name in args.stages.split(","):
            started = time.perf_counter()
            eng.write_parquet(stages[name], args.out / name)
            print(f"{name}: {time.perf_counter() - started:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

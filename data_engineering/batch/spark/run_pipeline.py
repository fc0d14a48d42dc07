"""spark-submit entry point: the same pipeline code as ``tripcast pipeline run``, on Spark.

    spark-submit --master local[2] data_engineering/batch/spark/run_pipeline.py --month 2021-01 \\
        --source /path/to/tlc/files

On a cluster, ship the ``tripcast`` package (``--py-files`` a wheel) and point
``TRIPCAST_DATA_DIR`` at shared storage. The SparkSession created by spark-submit is
reused, so ``--master`` and ``--conf`` options apply.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the pipeline with engine=spark, print the step timings; exit 1 on a user error."""
    parser = argparse.ArgumentParser(description="Run the Tripcast monthly pipeline on Spark")
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--source", type=Path, default=None, help="folder or file holding the TLC month")
    parser.add_argument("--force", action="store_true", help="rerun complete steps")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    from tripcast.bootstrap import bootstrap, load_settings
    from tripcast.core.domain.errors import TripcastError

    owned = SparkSession.getActiveSession() is None  # stop only a session we started
    spark = (
        SparkSession.builder.appName("tripcast-pipeline")
        .config("spark.sql.session.timeZone", "UTC")  # naive TLC timestamps must never shift
        .getOrCreate()
    )
    try:
        tc = bootstrap(load_settings(), local_source=args.source, allow_download=False)
        report = tc.data.pipeline.run(args.month, engine="spark", spark=spark, force=args.force, actor="spark-submit")
    except TripcastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if owned:
            spark.stop()
    for step in report.steps:
        state = "skipped" if step.skipped else f"{step.seconds:.2f}s"
        print(f"{step.name:10s} {state:>10s} {step.rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

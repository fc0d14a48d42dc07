"""One retraining cycle on real green taxi months, ingest to decision, with the stage timings.

    .venv/bin/python performance/retraining/bench_retrain_cycle.py --data ../shared/data/nyc-taxi

In a fresh temporary home (SQLite registry, local policy): ``retrain run --month 2021-02`` (no champion yet:
the first challenger, trained on 2021-01, is promoted), then the measured cycle ``retrain run --month
2021-03``: ingest + validate March, triggers (drift against the champion's reference, live error, schedule,
new data), train the challenger on the window 2021-01..2021-02, evaluate champion and challenger on March,
gate, promote. Both runs go through ``tc.retraining.run``, exactly what the CLI calls. Prints one JSON line
per run (seconds and stage seconds); the figures are in README.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tripcast.bootstrap import bootstrap
from tripcast.core.domain.month import Month
from tripcast.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("TRIPCAST_SHARED_DATA", "../shared/data/nyc-taxi")
    parser.add_argument("--data", type=Path, default=Path(default), help="folder of green_tripdata_YYYY-MM.parquet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retrain-bench-") as home:
        settings = Settings(home=Path(home), data_dir=Path(home) / "data")
        for month in (Month(2021, 2), Month(2021, 3)):
            tc = bootstrap(settings, local_source=args.data.resolve(), allow_download=False)  # a fresh process' view
            start = time.perf_counter()
            outcome = tc.retraining.run(month, actor="bench")
            wall = time.perf_counter() - start
            run = outcome.run
            print(
                json.dumps(
                    {
                        "month": run.month,
                        "window": list(run.window),
                        "decision": run.decision,
                        "rows_valid": run.rows_valid,
                        "seconds_wall": round(wall, 2),
                        "stage_seconds": run.stage_seconds,
                        "champion_rmse": run.champion_metrics.get("rmse"),
                        "challenger_rmse": run.challenger_metrics.get("rmse"),
                        "cpus": os.cpu_count(),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()

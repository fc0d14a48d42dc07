"""Side-by-side: Tripcast's drift check vs Evidently's DataDriftPreset on 1M current rows.

Reference: real 2021-01 green-taxi features (TRIP_DURATION_SPEC). Current: 2021-03 features
resampled with replacement to ``--rows`` rows (real values, realistic cardinalities).
Both tools use the same thresholds and column kinds; the script also reports whether the
per-column verdicts agree. Not a test: run by hand, record results in RESULTS.md.

    .venv/bin/python performance/benchmarks/drift/bench_drift_vs_evidently.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.data_engineering.features.trip_feature_source import TlcFeatureSource
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.validation import PanderaTripValidator
from tripcast.mlops.drift_detection import DriftDetector, ReferenceProfile

DATA = Path(os.environ.get("TRIPCAST_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared/data/nyc-taxi"))


def load_trip_features(path: Path) -> tuple:
    """Valid trips of a TLC file as TRIP_DURATION_SPEC features (the drift commands' source)."""
    source = TlcFeatureSource(path.parent, "green", PanderaTripValidator(), TripFeatureBuilder())
    return source.load(str(path)).features, None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()

    spec = TRIP_DURATION_SPEC
    reference, _, _ = load_trip_features(DATA / "green_tripdata_2021-01.parquet")
    march, _, _ = load_trip_features(DATA / "green_tripdata_2021-03.parquet")
    rng = np.random.default_rng(0)
    current = march.iloc[rng.integers(0, len(march), args.rows)].reset_index(drop=True)
    print(f"reference {len(reference):,} rows, current {len(current):,} rows, {len(spec.features)} features")

    t0 = time.perf_counter()
    profile = ReferenceProfile.from_json(ReferenceProfile.build(spec, reference).to_json())
    print(f"profile build + JSON round trip: {time.perf_counter() - t0:.3f} s (once per model version)")

    detector = DriftDetector(spec, profile)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = detector.check(current)
        times.append(time.perf_counter() - t0)
    ours_median = statistics.median(times)
    spread = f"min {min(times):.3f}, max {max(times):.3f}"
    print(f"tripcast check: median {ours_median:.3f} s over {args.repeats} runs ({spread})")

    if args.skip_evidently:
        return
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=spec.numeric_features, categorical_columns=spec.categorical_features)
    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    evidently_s = time.perf_counter() - t0
    print(f"evidently DataDriftPreset: {evidently_s:.3f} s (one run)")
    print(f"speed-up: {evidently_s / ours_median:.1f}x")

    agree = 0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        score, threshold = float(metric["value"]), float(config["threshold"])
        drifted = score < threshold if "p_value" in config["method"] else score >= threshold
        mine = ours.column(config["column"])
        agree += mine.drifted == drifted
        print(
            f"  {config['column']:22s} evidently {score:.4f} {drifted!s:5s}  tripcast {mine.score:.4f} {mine.drifted}"
        )
    print(f"verdicts agree on {agree}/{len(spec.features)} columns; tripcast dataset drift={ours.dataset_drift}")


if __name__ == "__main__":
    main()

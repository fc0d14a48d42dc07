"""Proof of honesty, sized to run in seconds (the 10,000-experiment run is in performance/experiments/):
peeking at every look keeps the always-valid test's false positives at alpha while the naive repeated t-test
inflates them; the minimum detectable effect ships within the sequential horizon in >= the planned power;
CUPED reduces variance on real taxi trips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from experiment_data import definition, observations

from tripcast.core.domain.experiment import Verdict
from tripcast.mlops.ab_testing.analysis import StatsEngine
from tripcast.mlops.ab_testing.analysis.simulation import simulate_peeking

ALPHA = 0.05
RUNS = 1000
LOOKS = 14  # daily peeking over two weeks


def _tolerance(p: float, runs: int) -> float:
    """Three binomial standard errors: a seeded run outside it is a real miss, not bad luck."""
    return 3 * math.sqrt(p * (1 - p) / runs)


def test_aa_peeking_keeps_the_sequential_false_positive_rate_at_alpha() -> None:
    result = simulate_peeking(RUNS, LOOKS, 60, effect=0.0, tau=1.0, alpha=ALPHA, seed=20261207)
    print(
        f"A/A, {RUNS} experiments x {LOOKS} looks: sequential FPR {result.sequential_reject:.3f}, "
        f"naive repeated t-test FPR {result.naive_reject:.3f}, single final t-test {result.fixed_reject:.3f}"
    )
    assert result.sequential_reject <= ALPHA + _tolerance(ALPHA, RUNS)
    # the naive repeated test is clearly dishonest: far above alpha (about 0.2 with 14 looks)
    assert result.naive_reject > ALPHA + 2 * _tolerance(ALPHA, RUNS) + 0.05
    # and the t-test looked at once is fine, so the inflation comes from peeking alone
    assert abs(result.fixed_reject - ALPHA) <= _tolerance(ALPHA, RUNS)


def test_aa_peeking_on_skewed_outcomes() -> None:
    result = simulate_peeking(RUNS, LOOKS, 60, tau=1.0, alpha=ALPHA, dist="gamma", seed=7)
    assert result.sequential_reject <= ALPHA + _tolerance(ALPHA, RUNS)
    assert result.naive_reject > 0.12


def test_peeking_after_every_unit_stays_honest_after_the_burn_in() -> None:
    """Continuous monitoring: a look after each new unit per arm, decisions from 100 units per arm on."""
    result = simulate_peeking(RUNS, 700, 1, tau=1.0, alpha=ALPHA, seed=5)
    assert result.sequential_reject <= ALPHA + _tolerance(ALPHA, RUNS)
    assert result.naive_reject > 0.3


def test_minimum_detectable_effect_ships_within_the_sequential_horizon() -> None:
    d = definition()  # MDE 10 % of a mean of 10 -> 1.0; sd 5; alpha 0.05; power 0.8
    horizon = StatsEngine().sequential_sample_size(d, 10.0, 5.0)
    per_look = math.ceil(horizon / LOOKS)
    result = simulate_peeking(RUNS, LOOKS, per_look, effect=-1.0, tau=1.0, alpha=ALPHA, seed=99)
    print(f"power at the sequential horizon {horizon}/arm: {result.sequential_ship:.3f}")
    assert result.sequential_ship >= d.power - _tolerance(d.power, RUNS)


def test_engine_ships_a_planted_effect_and_stays_quiet_on_aa() -> None:
    engine = StatsEngine()
    horizon = engine.sequential_sample_size(definition(), 10.0, 5.0)
    sizes = {"control": horizon, "treatment": horizon}
    planted = engine.analyze(definition(), observations(sizes, {"treatment": -1.5}))
    assert planted.verdict is Verdict.SHIP and planted.ci_high < 0
    aa = engine.analyze(definition(), observations(sizes, seed=8))
    assert aa.verdict in (Verdict.CONTINUE, Verdict.KEEP_CHAMPION)
    assert aa.ci_low < 0 < aa.ci_high


def _taxi_trips(shared_data_dir: Path) -> pa.Table:
    table = pq.read_table(
        shared_data_dir / "green_tripdata_2021-01.parquet",
        columns=["lpep_pickup_datetime", "lpep_dropoff_datetime", "trip_distance"],
    )
    seconds = pc.divide(
        pc.cast(pc.subtract(table["lpep_dropoff_datetime"], table["lpep_pickup_datetime"]), pa.int64()), 1_000_000
    )
    minutes = pc.divide(pc.cast(seconds, pa.float64()), 60.0)
    keep = pc.and_(
        pc.and_(pc.greater(minutes, 1.0), pc.less(minutes, 180.0)),
        pc.and_(pc.greater(table["trip_distance"], 0.0), pc.less(table["trip_distance"], 100.0)),
    )
    rng = np.random.default_rng(1)
    trips = pa.table(
        {"outcome": minutes, "covariate": table["trip_distance"], "at": table["lpep_pickup_datetime"]}
    ).filter(keep)
    arms = rng.choice(np.array(["control", "treatment"]), size=trips.num_rows)
    unit_ids = pa.array(np.arange(trips.num_rows).astype(str))
    return trips.append_column("arm", pa.array(arms)).append_column("unit_id", unit_ids)


def test_cuped_on_real_taxi_trips(shared_data_dir: Path) -> None:
    """Outcome: trip duration in minutes; covariate: trip distance, known before the trip is assigned."""
    trips = _taxi_trips(shared_data_dir)
    result = StatsEngine().analyze(definition(covariate="trip_distance"), trips)
    print(f"CUPED on {trips.num_rows:,} real green 2021-01 trips: variance reduction {result.variance_reduction:.3f}")
    assert trips.num_rows > 50_000
    assert result.variance_reduction is not None and result.variance_reduction > 0.2
    assert result.srm_p > 0.001 and result.verdict is not Verdict.SHIP  # random split, no real effect

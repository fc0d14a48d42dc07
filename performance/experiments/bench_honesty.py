"""Proof of honesty at full size: 10,000 simulated experiments per claim, peeked at after every look.

- A/A (no effect), normal and skewed (gamma) outcomes: how often the always-valid test ever rejects over
  ``--looks`` looks (must stay <= alpha) against the naive Welch t-test repeated at every look (inflated) and
  the t-test looked at once (alpha); then the same with a look after every single unit (continuous
  monitoring; decisions from MIN_UNITS_PER_ARM units on, as in the engine);
- power: the minimum detectable effect planted, units up to the engine's sequential horizon: how often the
  always-valid interval ships (>= the planned power), and the average share of the horizon it needed.

The same functions the engine uses decide (tripcast.mlops.ab_testing.analysis.sequential). Not a test: run
by hand, record results in README.md.

    .venv/bin/python performance/experiments/bench_honesty.py --experiments 10000
"""

from __future__ import annotations

import argparse
import math
import time

from tripcast.core.domain.experiment import Arm, ExperimentDefinition
from tripcast.mlops.ab_testing.analysis import StatsEngine
from tripcast.mlops.ab_testing.analysis.simulation import simulate_peeking

MEAN, STD, MDE = 10.0, 5.0, 0.1  # the MDE is relative: 1.0 in absolute terms


def _row(label: str, share: float, experiments: int) -> str:
    se = math.sqrt(max(share * (1 - share), 1e-12) / experiments)
    return f"{label:<58} {share:7.4f}  (+- {1.96 * se:.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--looks", type=int, default=14, help="peeks per experiment (daily over two weeks)")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    definition = ExperimentDefinition(
        "sim",
        "any",
        (Arm("control", "1", 0.5), Arm("treatment", "2", 0.5)),
        alpha=args.alpha,
        minimum_detectable_effect=MDE,
    )
    engine = StatsEngine()
    fixed_n = engine.sample_size(definition, MEAN, STD)
    horizon = engine.sequential_sample_size(definition, MEAN, STD)
    per_look = math.ceil(horizon / args.looks)
    tau = MDE * MEAN
    print(
        f"{args.experiments:,} experiments x {args.looks} looks, alpha {args.alpha}, outcome mean {MEAN} sd {STD}, "
        f"MDE {tau}: fixed-horizon n {fixed_n}/arm, sequential horizon {horizon}/arm ({per_look}/arm per look)"
    )
    began = time.perf_counter()
    for dist in ("normal", "gamma"):
        aa = simulate_peeking(args.experiments, args.looks, per_look, tau=tau, alpha=args.alpha, dist=dist, seed=1)
        print(_row(f"A/A {dist}: always-valid test rejects at some look", aa.sequential_reject, args.experiments))
        print(_row(f"A/A {dist}: naive t-test rejects at some look", aa.naive_reject, args.experiments))
        print(_row(f"A/A {dist}: t-test at the last look only", aa.fixed_reject, args.experiments))
    for dist in ("normal", "gamma"):  # continuous monitoring: a look after every unit per arm
        every = simulate_peeking(args.experiments, horizon, 1, tau=tau, alpha=args.alpha, dist=dist, seed=3)
        print(_row(f"A/A {dist}, a look per unit: always-valid rejects", every.sequential_reject, args.experiments))
        print(_row(f"A/A {dist}, a look per unit: naive t-test rejects", every.naive_reject, args.experiments))
    for dist in ("normal", "gamma"):
        power = simulate_peeking(
            args.experiments, args.looks, per_look, effect=-tau, tau=tau, alpha=args.alpha, dist=dist, seed=2
        )
        print(
            _row(
                f"MDE planted ({dist}): always-valid ships within the horizon", power.sequential_ship, args.experiments
            )
        )
        print(_row(f"MDE planted ({dist}): t-test at the last look", power.fixed_reject, args.experiments))
    print(f"simulated in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()

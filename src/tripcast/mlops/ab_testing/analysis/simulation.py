"""Thousands of simulated two-arm experiments at once (vectorised numpy), peeked at after every look.

The proof that the engine is honest: under A/A (no effect) the always-valid test rejects at any of the looks
in at most alpha of the experiments, while the naive Welch t-test repeated at every look rejects far more
often; with the minimum detectable effect planted, the always-valid interval ships within the sequential
horizon in at least the planned power of the runs. The same :mod:`.sequential` functions the engine uses
decide here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from tripcast.mlops.ab_testing.analysis import sequential
from tripcast.mlops.ab_testing.analysis.sequential import MIN_UNITS_PER_ARM

#: Cap on simulated outcomes held in memory at once (experiments are processed in chunks).
_CHUNK_VALUES = 4_000_000


@dataclass(frozen=True)
class PeekingResult:
    """Shares of the simulated experiments (each between 0 and 1)."""

    experiments: int
    looks: int
    units_per_look: int
    sequential_reject: float  # the always-valid test crossed at some look (either side)
    sequential_ship: float  # its first crossing showed the treatment better (lower outcome)
    naive_reject: float  # the Welch t-test had p < alpha at some look
    fixed_reject: float  # the Welch t-test at the last look only


def _outcomes(rng: np.random.Generator, shape: tuple[int, ...], mean: float, std: float, dist: str) -> np.ndarray:
    if dist == "gamma":  # skewed and positive, like absolute errors
        shape_k = (mean / std) ** 2
        return rng.gamma(shape_k, std * std / mean, size=shape)
    return rng.normal(mean, std, size=shape)


def _chunk(
    rng: np.random.Generator,
    experiments: int,
    looks: int,
    units: int,
    effect: float,
    mean: float,
    std: float,
    dist: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (diff, control variance, treatment variance, count per arm) at each look; each array is
    shaped (experiments, looks)."""
    y = _outcomes(rng, (experiments, 2, looks, units), mean, std, dist) - mean
    y[:, 1] += effect
    n = units * np.arange(1, looks + 1, dtype=float)
    s1 = np.cumsum(y.sum(axis=3), axis=2)
    s2 = np.cumsum((y * y).sum(axis=3), axis=2)
    means = s1 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        variances = (s2 - s1 * s1 / n) / (n - 1)
    diff = means[:, 1] - means[:, 0]
    return diff, variances[:, 0], variances[:, 1], np.broadcast_to(n, diff.shape)


def simulate_peeking(
    experiments: int,
    looks: int,
    units_per_look: int,
    *,
    effect: float = 0.0,
    mean: float = 10.0,
    std: float = 5.0,
    tau: float = 1.0,
    alpha: float = 0.05,
    dist: str = "normal",
    seed: int = 0,
    min_units: int = MIN_UNITS_PER_ARM,
) -> PeekingResult:
    """Run ``experiments`` two-arm experiments of ``looks`` looks with ``units_per_look`` new units per arm each.

    ``effect`` is added to the treatment's outcomes (negative = better, lower is better); ``tau`` is the
    mixture scale (the minimum detectable effect, as the engine sets it). Looks before ``min_units`` units per
    arm decide nothing, as in the engine.
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_VALUES // (2 * looks * units_per_look))
    counts = np.zeros(4)
    done = 0
    while done < experiments:
        size = min(per_chunk, experiments - done)
        diff, var_c, var_t, n = _chunk(rng, size, looks, units_per_look, effect, mean, std, dist)
        var = var_t / n + var_c / n
        with np.errstate(invalid="ignore", divide="ignore"):  # a look with one unit per arm has no variance
            crossed = (sequential.log_mixture_ratio(diff, var, tau) >= np.log(1 / alpha)) & (n >= min_units)
        first = np.argmax(crossed, axis=1)
        any_cross = crossed.any(axis=1)
        ship = any_cross & (diff[np.arange(size), first] < 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            t_p = stats.ttest_ind_from_stats(diff, np.sqrt(var_t), n, 0.0, np.sqrt(var_c), n, equal_var=False).pvalue
        counts += [any_cross.sum(), ship.sum(), (t_p < alpha).any(axis=1).sum(), (t_p[:, -1] < alpha).sum()]
        done += size
    shares = counts / experiments
    return PeekingResult(experiments, looks, units_per_look, *(float(s) for s in shares))

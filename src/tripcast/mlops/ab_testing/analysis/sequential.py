"""Always-valid inference for a difference in means: the normal-mixture mSPRT and its confidence sequence.

The estimate ``diff`` of treatment minus control has (estimated) variance ``var`` = s_t^2/n_t + s_c^2/n_c,
which shrinks as units arrive. Mixing the likelihood ratio of "effect = theta" against "effect = 0" over a
N(0, tau^2) prior on theta gives (Johari et al. 2017, "Peeking at A/B tests"; Howard et al. 2021,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", normal mixture)::

    Lambda = sqrt(var / (var + tau^2)) * exp(diff^2 tau^2 / (2 var (var + tau^2)))

a nonnegative martingale under the null, so by Ville's inequality P(Lambda ever >= 1/alpha) <= alpha:
stopping the first time it crosses, at any look, keeps the false positive rate at alpha. Inverting it gives
the confidence sequence ``diff +- radius`` with::

    radius^2 = var (var + tau^2) / tau^2 * (2 log(1/alpha) + log((var + tau^2) / var))

valid simultaneously at every sample size (with the variance estimated, asymptotically so, as in Waudby-Smith
et al. 2021's time-uniform central limit theorem). ``tau`` is the minimum detectable effect: the interval is
then nearly as tight as it can be around the sample size that detects that effect (the optimum is
tau^2 ~ 8 var at alpha = 0.05, and the fixed-horizon plan puts var at MDE^2 / 7.8).

Every function takes numpy arrays so the simulations can run thousands of experiments at once.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

#: Units per arm before the interval may decide anything: it plugs in estimated variances, which are only
#: trustworthy with some data. Peeking after every single unit (10,000 simulated A/A experiments, 760 looks)
#: rejects in 7.6 % of them when looks start at the first unit, 2.6 % from 30 units, 2.3 % from 100.
MIN_UNITS_PER_ARM = 100


def _positive(var: np.ndarray) -> np.ndarray:
    """Variances floored at the smallest positive float: outcomes without any spread make the difference
    exact (a zero-width interval, p 1 or 0) instead of 0/0."""
    return np.maximum(np.asarray(var, dtype=float), np.finfo(float).tiny)


def log_mixture_ratio(diff: np.ndarray, var: np.ndarray, tau: float) -> np.ndarray:
    """log Lambda of the normal-mixture sequential probability ratio (see the module docstring)."""
    diff, var = np.asarray(diff, dtype=float), _positive(var)
    tau2 = tau * tau
    return 0.5 * np.log(var / (var + tau2)) + diff * diff * tau2 / (2.0 * var * (var + tau2))


def always_valid_p(diff: np.ndarray, var: np.ndarray, tau: float) -> np.ndarray:
    """min(1, 1/Lambda): a p-value that stays valid whenever the analysis stops (p <= alpha iff the
    ``alpha`` confidence sequence excludes 0)."""
    return np.minimum(1.0, np.exp(-log_mixture_ratio(diff, var, tau)))


def radius(var: np.ndarray, tau: float, alpha: float) -> np.ndarray:
    """Half-width of the always-valid (1 - alpha) interval at estimated variance ``var`` of the difference."""
    var = _positive(var)
    tau2 = tau * tau
    return np.sqrt(var * (var + tau2) / tau2 * (2.0 * math.log(1.0 / alpha) + np.log((var + tau2) / var)))


def confidence_sequence(diff: np.ndarray, var: np.ndarray, tau: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the always-valid (1 - alpha) interval around ``diff``."""
    half = radius(var, tau, alpha)
    return np.asarray(diff) - half, np.asarray(diff) + half


def horizon_variance(tau: float, alpha: float, power: float) -> float:
    """The variance of the difference at which an effect of size ``tau`` (the mixture's own scale, the
    minimum detectable effect) lies beyond the interval with probability ``power`` at that single look.

    Solves tau - z_power * sd = radius(sd^2) for sd. Conservative as a planning horizon: crossings at
    earlier looks only add power (the simulations measure how much).
    """
    z_power = float(stats.norm.ppf(power))

    def gap(sd: float) -> float:
        return tau - z_power * sd - float(radius(np.array(sd * sd), tau, alpha))

    sd = optimize.brentq(gap, 1e-9 * tau, tau / max(z_power, 1e-9) if z_power > 0 else tau)
    return float(sd * sd)

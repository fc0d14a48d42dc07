"""Drift tests computed on column summaries, with Evidently's choice rules and default thresholds.

Evidently (``evidently.legacy.calculations.stattests``) picks a test per column from the
*reference* size and the number of distinct values in reference + current:

============================  ==========================  =====================================
reference rows                numeric                     categorical
============================  ==========================  =====================================
<= 1000                       KS p-value (> 5 values),    chi-squared p-value (> 2 values),
                              chi-squared (3-5), z (<= 2) z-test p-value (<= 2)
> 1000                        Wasserstein / std (> 5),    Jensen-Shannon distance
                              Jensen-Shannon (<= 5)
============================  ==========================  =====================================

Distances drift when ``score >= threshold`` (default 0.1); p-values drift when
``score < threshold`` (default 0.05). The functions here compute the same quantities from
:mod:`~tripcast.mlops.drift_detection.distributions` summaries, so a reference never has to
be rescanned and a million current rows cost a sort or a bincount per column.

The distances and the z-test are plain NumPy (checked against SciPy in the unit tests), so the
default path of a drift check never imports SciPy (1.6 s); the KS and chi-squared p-values, used
only for references of at most 1,000 rows or when asked for, import it on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.mlops.drift_detection.distributions import CategoryCounts, NumericAtoms, union_frequencies

#: Evidently switches from sample tests to distances above this many reference rows.
SMALL_SAMPLE_MAX_ROWS = 1000


class DriftMethod(StrEnum):
    """The drift tests supported, named as Evidently names them."""

    WASSERSTEIN = "wasserstein"
    KS = "ks"
    JENSEN_SHANNON = "jensenshannon"
    CHI_SQUARE = "chisquare"
    Z = "z"

    @property
    def is_pvalue(self) -> bool:
        """Whether the score is a p-value (drift when small) rather than a distance (drift when large)."""
        return self in {DriftMethod.KS, DriftMethod.CHI_SQUARE, DriftMethod.Z}

    @property
    def default_threshold(self) -> float:
        return 0.05 if self.is_pvalue else 0.1

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's verdict: p-value below, or distance at or above, the threshold.

        NaN is no verdict here (False); :class:`~.detector.DriftDetector` marks such a column
        inconclusive and counts it as drifted, so no score never reads as "ok".
        """
        if not np.isfinite(score):
            return False
        return bool(score < threshold) if self.is_pvalue else bool(score >= threshold)


@dataclass(frozen=True, slots=True)
class TestResult:
    """One column's drift score and verdict."""

    method: DriftMethod
    score: float
    threshold: float
    drifted: bool


def parse_method(name: str, column: str) -> DriftMethod:
    """A method override by name, with an error naming the column and the known methods."""
    try:
        return DriftMethod(name)
    except ValueError:
        known = ", ".join(m.value for m in DriftMethod)
        raise InvalidInputError([FieldProblem(column, f"unknown drift method {name!r} (known: {known})")]) from None


def default_numeric_method(reference: NumericAtoms, current: NumericAtoms) -> DriftMethod:
    """Evidently's default test for a numeric column."""
    n_values = _n_distinct(reference, current)
    if reference.n <= SMALL_SAMPLE_MAX_ROWS:
        if n_values <= 2:
            return DriftMethod.Z
        return DriftMethod.CHI_SQUARE if n_values <= 5 else DriftMethod.KS
    return DriftMethod.JENSEN_SHANNON if n_values <= 5 else DriftMethod.WASSERSTEIN


def default_categorical_method(reference: CategoryCounts, current: CategoryCounts) -> DriftMethod:
    """Evidently's default test for a categorical column."""
    if reference.n <= SMALL_SAMPLE_MAX_ROWS:
        n_values = len(reference.counts.keys() | current.counts.keys())
        return DriftMethod.CHI_SQUARE if n_values > 2 else DriftMethod.Z
    return DriftMethod.JENSEN_SHANNON


def numeric_test(
    reference: NumericAtoms,
    current: NumericAtoms,
    *,
    reference_std: float,
    reference_sample: np.ndarray | None = None,
    method: DriftMethod | None = None,
    threshold: float | None = None,
) -> TestResult:
    """Drift of a numeric column; ``reference_sample`` serves KS when the reference atoms are a sketch."""
    method = method or default_numeric_method(reference, current)
    threshold = method.default_threshold if threshold is None else threshold
    if method is DriftMethod.WASSERSTEIN:
        score = wasserstein_normed(reference, current, reference_std)
    elif method is DriftMethod.KS:
        ref = reference.expand() if reference.exact or reference_sample is None else reference_sample
        cur = current.expand() if current.exact else current.values
        from scipy import stats  # KS needs its exact/asymptotic distribution; rare path, imported lazily

        score = float(stats.ks_2samp(ref, cur)[1])
    elif method is DriftMethod.JENSEN_SHANNON:
        score = _numeric_jensen_shannon(reference, current)
    elif method is DriftMethod.CHI_SQUARE:
        score = chi_square_pvalue(*union_frequencies(reference, current))
    else:
        score = _numeric_z(reference, current)
    return TestResult(method, score, threshold, method.drifted(score, threshold))


def categorical_test(
    reference: CategoryCounts,
    current: CategoryCounts,
    *,
    method: DriftMethod | None = None,
    threshold: float | None = None,
) -> TestResult:
    """Drift of a categorical column from category counts."""
    method = method or default_categorical_method(reference, current)
    threshold = method.default_threshold if threshold is None else threshold
    ref, cur = union_frequencies(reference.counts, current.counts)
    if method is DriftMethod.JENSEN_SHANNON:
        score = jensen_shannon(ref, cur)
    elif method is DriftMethod.CHI_SQUARE:
        score = chi_square_pvalue(ref, cur)
    elif method is DriftMethod.Z:
        keys = sorted(reference.counts.keys() | current.counts.keys(), key=lambda k: (isinstance(k, str), k))
        first = keys[0] if keys else None
        score = z_test_pvalue(
            reference.counts.get(first, 0) if first is not None else 0,
            reference.n,
            current.counts.get(first, 0) if first is not None else 0,
            current.n,
            single_same=len(reference.counts) == 1 and reference.counts.keys() == current.counts.keys(),
        )
    else:
        raise InvalidInputError([FieldProblem("method", f"{method.value} does not apply to categorical columns")])
    return TestResult(method, score, threshold, method.drifted(score, threshold))


def wasserstein_normed(reference: NumericAtoms, current: NumericAtoms, reference_std: float) -> float:
    """First Wasserstein distance divided by the reference's standard deviation (floored at 0.001)."""
    if reference.n == 0 or current.n == 0:
        return float("nan")
    raw = weighted_wasserstein(reference.values, current.values, reference.weights, current.weights)
    return float(raw / max(reference_std, 0.001))


def weighted_wasserstein(
    u_values: np.ndarray, v_values: np.ndarray, u_weights: np.ndarray, v_weights: np.ndarray
) -> float:
    """First Wasserstein distance between two weighted point sets: the area between their CDFs.

    The same computation as ``scipy.stats.wasserstein_distance`` (the unit tests compare them).
    """
    u_order, v_order = np.argsort(u_values), np.argsort(v_values)
    u_sorted, v_sorted = u_values[u_order], v_values[v_order]
    support = np.sort(np.concatenate([u_sorted, v_sorted]))
    widths = np.diff(support)
    u_cum = np.concatenate([[0.0], np.cumsum(u_weights[u_order])])
    v_cum = np.concatenate([[0.0], np.cumsum(v_weights[v_order])])
    u_cdf = u_cum[np.searchsorted(u_sorted, support[:-1], side="right")] / u_cum[-1]
    v_cdf = v_cum[np.searchsorted(v_sorted, support[:-1], side="right")] / v_cum[-1]
    return float(np.sum(np.abs(u_cdf - v_cdf) * widths))


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) between two aligned count vectors."""
    if reference_counts.sum() == 0 or current_counts.sum() == 0:
        return float("nan")
    p = reference_counts / reference_counts.sum()
    q = current_counts / current_counts.sum()
    m = (p + q) / 2.0
    # Relative entropy terms, 0 where the share is 0 (as scipy.special.rel_entr); m > 0 wherever p or q is.
    with np.errstate(divide="ignore", invalid="ignore"):
        divergence = np.where(p > 0, p * np.log(p / m), 0.0).sum() + np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(np.sqrt(max(divergence / 2.0, 0.0)))


def chi_square_pvalue(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Chi-squared goodness of fit of current counts to reference proportions scaled to the current size."""
    ref_n, cur_n = reference_counts.sum(), current_counts.sum()
    if ref_n == 0 or cur_n == 0:
        return float("nan")
    expected = reference_counts * (cur_n / ref_n)
    from scipy import stats  # the chi-squared distribution; rare path (small references), imported lazily

    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(current_counts, expected)[1])


def z_test_pvalue(ref_first: float, ref_n: int, cur_first: float, cur_n: int, *, single_same: bool) -> float:
    """Two-sided two-proportion z-test on the share of rows that are NOT the first (sorted) value."""
    if single_same:
        return 1.0
    if ref_n == 0 or cur_n == 0:
        return float("nan")
    p1 = (ref_n - ref_first) / ref_n
    p2 = (cur_n - cur_first) / cur_n
    pooled = (p1 * ref_n + p2 * cur_n) / (ref_n + cur_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / ref_n + 1.0 / cur_n))
    # Two-sided normal tail 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2)); NaN stays NaN.
    return float(math.erfc(abs(float(z)) / math.sqrt(2.0)))


def _n_distinct(reference: NumericAtoms, current: NumericAtoms) -> int:
    if reference.exact and current.exact:
        return int(np.union1d(reference.values, current.values).size)
    # A sketch only exists past max_exact distinct values, far above the 5-value switch.
    return max(reference.n_distinct, current.n_distinct)


def _numeric_jensen_shannon(reference: NumericAtoms, current: NumericAtoms) -> float:
    # Evidently bins numeric columns with more than 20 reference values into Sturges bins over both
    # samples; fewer values are compared value by value.
    if reference.exact and reference.n_distinct <= 20:
        return jensen_shannon(*union_frequencies(reference, current))
    total = reference.n + current.n
    lo = float(min(reference.values.min(), current.values.min()))
    hi = float(max(reference.values.max(), current.values.max()))
    n_bins = int(np.ceil(np.log2(total)) + 1)
    edges = np.linspace(lo, hi, n_bins + 1)
    ref_hist = np.histogram(reference.values, edges, weights=reference.weights)[0]
    cur_hist = np.histogram(current.values, edges, weights=current.weights)[0]
    return jensen_shannon(ref_hist, cur_hist)


def _numeric_z(reference: NumericAtoms, current: NumericAtoms) -> float:
    keys = np.union1d(reference.values, current.values)
    if keys.size == 0:
        return float("nan")
    first = keys[0]
    ref_first = float(reference.weights[reference.values == first].sum())
    cur_first = float(current.weights[current.values == first].sum())
    single_same = reference.n_distinct == 1 and current.n_distinct == 1 and keys.size == 1
    return z_test_pvalue(ref_first, reference.n, cur_first, current.n, single_same=single_same)

"""The NumPy drift statistics equal SciPy's (which the default drift path no longer imports)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from tripcast.mlops.drift_detection.stattests import jensen_shannon, weighted_wasserstein, z_test_pvalue


@pytest.mark.parametrize("seed", range(5))
def test_weighted_wasserstein_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    u, v = rng.normal(0, 1, 300), rng.normal(0.3, 1.5, 200)
    u[:50] = u[50:100]  # repeated support points
    uw, vw = rng.uniform(0.1, 3, 300), rng.uniform(0.1, 3, 200)
    assert weighted_wasserstein(u, v, uw, vw) == pytest.approx(stats.wasserstein_distance(u, v, uw, vw), rel=1e-12)
    assert weighted_wasserstein(u, v, np.ones(300), np.ones(200)) == pytest.approx(stats.wasserstein_distance(u, v))


def test_weighted_wasserstein_of_identical_sets_is_zero() -> None:
    values = np.array([1.0, 2.0, 5.0])
    assert weighted_wasserstein(values, values[::-1], np.ones(3), np.ones(3)) == 0.0


@pytest.mark.parametrize(
    ("p", "q"),
    [
        ([10, 20, 30, 0], [5, 25, 30, 40]),  # a category absent from the reference
        ([1, 0, 0], [0, 0, 1]),  # disjoint supports: the maximum, sqrt(ln 2)
        ([3, 3, 3], [3, 3, 3]),
        ([1e6, 1, 2], [2, 1, 1e6]),
    ],
)
def test_jensen_shannon_equals_scipy(p: list[float], q: list[float]) -> None:
    ref, cur = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    expected = distance.jensenshannon(ref / ref.sum(), cur / cur.sum())
    assert jensen_shannon(ref, cur) == pytest.approx(expected, abs=1e-12)


def test_jensen_shannon_of_an_empty_side_has_no_score() -> None:
    assert np.isnan(jensen_shannon(np.zeros(3), np.ones(3)))


@pytest.mark.parametrize(
    ("ref_first", "ref_n", "cur_first", "cur_n"), [(40, 100, 55, 120), (500, 1000, 480, 900), (1, 50, 49, 50)]
)
def test_z_test_equals_scipy_normal_tail(ref_first: float, ref_n: int, cur_first: float, cur_n: int) -> None:
    p1, p2 = (ref_n - ref_first) / ref_n, (cur_n - cur_first) / cur_n
    pooled = (p1 * ref_n + p2 * cur_n) / (ref_n + cur_n)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / cur_n))
    expected = 2 * (1 - stats.norm.cdf(abs(z)))
    assert z_test_pvalue(ref_first, ref_n, cur_first, cur_n, single_same=False) == pytest.approx(expected, abs=1e-12)


def test_default_drift_path_does_not_import_scipy() -> None:
    """A check of a large reference (Wasserstein, Jensen-Shannon) runs without importing SciPy (1.6 s)."""
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec\n"
        "from tripcast.mlops.drift_detection import DriftDetector, ReferenceProfile\n"
        "x, c = FeatureSpec('x', FeatureKind.NUMERIC, ''), FeatureSpec('c', FeatureKind.CATEGORICAL, '')\n"
        "spec = ModelSpec('s', (x, c), target='y')\n"
        "rng = np.random.default_rng(0)\n"
        "f = lambda n: pd.DataFrame({'x': rng.normal(0, 1, n), 'c': rng.integers(0, 9, n)})\n"
        "report = DriftDetector(spec, ReferenceProfile.build(spec, f(5000))).check(f(5000))\n"
        "assert [c.method.value for c in report.columns] == ['wasserstein', 'jensenshannon']\n"
        "print('scipy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

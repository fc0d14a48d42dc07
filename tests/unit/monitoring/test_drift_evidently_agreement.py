"""Our drift verdicts agree with Evidently's DataDriftPreset on the same data and thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.mlops.drift_detection import DriftConfig, DriftDetector, ReferenceProfile

evidently = pytest.importorskip("evidently")
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

N, C = FeatureKind.NUMERIC, FeatureKind.CATEGORICAL
SPEC = ModelSpec(
    name="agreement",
    features=(
        FeatureSpec("distance", N),  # continuous, many values: Wasserstein / KS
        FeatureSpec("rounded", N),  # continuous rounded to 0.01: exact atoms
        FeatureSpec("hour", N),  # 24 integer values
        FeatureSpec("flag", N),  # 2 values: JS (large) / z-test (small)
        FeatureSpec("level", N),  # 4 values: JS (large) / chi-squared (small)
        FeatureSpec("zone", C),  # many categories
        FeatureSpec("borough", C),  # few categories
        FeatureSpec("binary", C),  # 2 categories
    ),
    target="y",
)
PVALUE_METHODS = ("p_value",)


def make_frame(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    """``shift`` moves every column's distribution; 0 keeps it."""
    distance = rng.lognormal(0.5 + shift, 0.8, n)
    zone_p = np.linspace(1, 2 + 10 * shift, 150)
    borough_p = np.array([5, 3, 2, 1, 1 + 8 * shift])
    return pd.DataFrame(
        {
            "distance": distance,
            "rounded": np.round(rng.gamma(2 + 2 * shift, 1.5, n), 2),
            "hour": np.clip(np.round(rng.normal(13 + 6 * shift, 5, n)), 0, 23).astype(int),
            "flag": (rng.random(n) < 0.1 + 0.4 * shift).astype(int),
            "level": rng.choice(4, n, p=np.array([4, 3, 2, 1 + 6 * shift]) / (10 + 6 * shift)),
            "zone": rng.choice(150, n, p=zone_p / zone_p.sum()) + 1,
            "borough": rng.choice(5, n, p=borough_p / borough_p.sum()),
            "binary": (rng.random(n) < 0.5 + 0.3 * shift).astype(int),
        }
    )


def evidently_verdicts(
    reference: pd.DataFrame, current: pd.DataFrame, thresholds: dict[str, float], drift_share: float
) -> tuple[dict[str, tuple[str, float, bool]], int, float]:
    definition = DataDefinition(numerical_columns=SPEC.numeric_features, categorical_columns=SPEC.categorical_features)
    report = Report([DataDriftPreset(drift_share=drift_share, per_column_threshold=thresholds or None)])
    snapshot = report.run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    per_column: dict[str, tuple[str, float, bool]] = {}
    count, share = -1, -1.0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            count, share = int(metric["value"]["count"]), float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            method, threshold, score = config["method"], float(config["threshold"]), float(metric["value"])
            drifted = score < threshold if "p_value" in method else score >= threshold
            per_column[config["column"]] = (method, score, bool(drifted))
    return per_column, count, share


METHOD_NAMES = {
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
}


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift", "thresholds", "drift_share"),
    [
        (4000, 6000, 0.0, {}, 0.5),  # large samples, no drift
        (4000, 6000, 0.25, {}, 0.5),  # large samples, drift
        (4000, 6000, 0.06, {"distance": 0.05, "zone": 0.03}, 0.3),  # overrides near the edge
        (600, 700, 0.0, {}, 0.5),  # small samples: KS, chi-squared, z-test
        (600, 700, 0.3, {"hour": 0.01}, 0.5),  # small samples, drift
    ],
)
def test_verdicts_agree_with_evidently(
    n_ref: int, n_cur: int, shift: float, thresholds: dict[str, float], drift_share: float
) -> None:
    rng = np.random.default_rng(7)
    reference, current = make_frame(rng, n_ref, 0.0), make_frame(rng, n_cur, shift)
    expected, expected_count, expected_share = evidently_verdicts(reference, current, thresholds, drift_share)

    profile = ReferenceProfile.from_json(ReferenceProfile.build(SPEC, reference, max_exact=2000).to_json())
    ours = DriftDetector(SPEC, profile, DriftConfig(drift_share=drift_share, thresholds=thresholds)).check(current)

    for column in ours.columns:
        method, score, drifted = expected[column.column]
        assert METHOD_NAMES[column.method.value] == method, column.column
        assert column.drifted == drifted, f"{column.column}: ours {column.score} vs evidently {score} ({method})"
        # Exact atoms reproduce Evidently's number; the quantile sketch (distance, >2000 values) is within 1 %.
        assert column.score == pytest.approx(score, rel=1e-2, abs=1e-9), column.column
    assert ours.n_drifted == expected_count
    assert ours.share_drifted == pytest.approx(expected_share)
    assert ours.dataset_drift == (expected_share >= drift_share)


def test_the_scenarios_cover_both_verdicts() -> None:
    """Guard against a vacuous agreement test: the drift scenario really drifts, the null one does not."""
    rng = np.random.default_rng(7)
    reference = make_frame(rng, 4000, 0.0)
    profile = ReferenceProfile.build(SPEC, reference)
    detector = DriftDetector(SPEC, profile)
    assert not detector.check(make_frame(rng, 6000, 0.0)).dataset_drift
    assert detector.check(make_frame(rng, 6000, 0.25)).dataset_drift

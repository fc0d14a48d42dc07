"""Reference profiles, column summaries, the detector's rules, the online monitor and model decay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from scipy import stats

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.mlops.drift_detection import DriftConfig, DriftDetector, DriftMethod, ReferenceProfile
from tripcast.mlops.drift_detection.decay import ModelDecayMonitor
from tripcast.mlops.drift_detection.distributions import normalise_key, summarise_categorical, summarise_numeric
from tripcast.mlops.drift_detection.html_report import render_html
from tripcast.mlops.drift_detection.online import OnlineDriftMonitor

SPEC = ModelSpec(
    name="toy",
    features=(
        FeatureSpec("x", FeatureKind.NUMERIC),
        FeatureSpec("hour", FeatureKind.NUMERIC),
        FeatureSpec("zone", FeatureKind.CATEGORICAL),
    ),
    target="y",
)


def frame(rng: np.random.Generator, n: int, x_shift: float = 0.0, zone_shift: bool = False) -> pd.DataFrame:
    zones = rng.integers(1, 40, n) if not zone_shift else rng.integers(20, 60, n)
    return pd.DataFrame({"x": rng.normal(x_shift, 1.0, n), "hour": rng.integers(0, 24, n), "zone": zones})


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def test_exact_atoms_reproduce_scipy_wasserstein(rng: np.random.Generator) -> None:
    ref, cur = np.round(rng.gamma(2, 2, 20_000), 2), np.round(rng.gamma(2.3, 2, 30_000), 2)
    a, b = summarise_numeric(ref), summarise_numeric(cur)
    assert a.exact and b.exact
    ours = stats.wasserstein_distance(a.values, b.values, a.weights, b.weights)
    assert ours == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)


def test_quantile_sketch_is_close_for_continuous_values(rng: np.random.Generator) -> None:
    ref, cur = rng.lognormal(0, 1, 200_000), rng.lognormal(0.1, 1, 200_000)
    a, b = summarise_numeric(ref, max_exact=2000), summarise_numeric(cur, max_exact=2000)
    assert not a.exact and a.n == ref.size and a.values.size == 2000
    ours = stats.wasserstein_distance(a.values, b.values, a.weights, b.weights)
    assert ours == pytest.approx(stats.wasserstein_distance(ref, cur), rel=0.02)


def test_category_keys_match_across_int_and_float_columns() -> None:
    as_int, _ = summarise_categorical(pd.Series([1, 2, 2, 3]))
    as_float, nulls = summarise_categorical(pd.Series([1.0, 2.0, 2.0, 3.0, np.nan]))
    assert as_int.counts == as_float.counts == {1: 1, 2: 2, 3: 1}
    assert nulls == 1
    assert normalise_key("a") == "a" and normalise_key(np.int32(4)) == 4 and normalise_key(2.5) == "2.5"


def test_profile_round_trips_through_json_and_keeps_null_rates(rng: np.random.Generator) -> None:
    data = frame(rng, 5000)
    data.loc[:99, "x"] = np.nan
    profile = ReferenceProfile.build(SPEC, data, predictions=rng.normal(size=5000))
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.to_json() == profile.to_json()
    assert again.features["x"].null_rate == pytest.approx(0.02)
    assert again.prediction is not None and again.prediction.atoms.n == 5000
    assert len(again.features["x"].sample) == 4900  # type: ignore[union-attr]


def test_no_drift_on_same_distribution_and_drift_on_shift(rng: np.random.Generator) -> None:
    detector = DriftDetector(SPEC, ReferenceProfile.build(SPEC, frame(rng, 20_000)))
    same = detector.check(frame(rng, 20_000))
    assert same.drifted_columns == [] and not same.dataset_drift
    moved = detector.check(frame(rng, 20_000, x_shift=0.5, zone_shift=True))
    assert moved.drifted_columns == ["x", "zone"]
    assert moved.dataset_drift  # 2 of 3 >= 0.5
    assert moved.column("x").method is DriftMethod.WASSERSTEIN
    assert moved.column("zone").method is DriftMethod.JENSEN_SHANNON


def test_threshold_override_and_drift_share(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 20_000))
    current = frame(rng, 20_000, x_shift=0.5)
    strict = DriftDetector(SPEC, profile, DriftConfig(thresholds={"x": 0.9}, drift_share=0.3)).check(current)
    assert not strict.column("x").drifted and strict.column("x").threshold == 0.9
    loose = DriftDetector(SPEC, profile, DriftConfig(drift_share=0.3)).check(current)
    assert loose.dataset_drift and loose.share_drifted == pytest.approx(1 / 3)


def test_bad_configuration_names_the_field(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 2000))
    with pytest.raises(InvalidInputError, match="nope"):
        DriftDetector(SPEC, profile, DriftConfig(thresholds={"nope": 0.1}))
    with pytest.raises(InvalidInputError, match="unknown drift method"):
        DriftConfig(methods={"x": "psi-ish"})
    with pytest.raises(InvalidInputError, match="hour"):
        DriftDetector(SPEC, profile).check(frame(rng, 100).drop(columns=["hour"]))
    other = ModelSpec("other", (FeatureSpec("x", FeatureKind.CATEGORICAL),), target="y")
    with pytest.raises(InvalidInputError, match="profiled as numeric"):
        DriftDetector(other, profile)


def test_method_override_ks_uses_the_stored_sample(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 50_000), max_exact=1000)
    detector = DriftDetector(SPEC, profile, DriftConfig(methods={"x": "ks"}))
    assert detector.check(frame(rng, 3000, x_shift=0.3)).column("x").drifted
    result = detector.check(frame(rng, 3000)).column("x")
    assert result.method is DriftMethod.KS and not result.drifted


def test_prediction_drift(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 10_000), predictions=rng.normal(10, 2, 10_000))
    detector = DriftDetector(SPEC, profile)
    report = detector.check(frame(rng, 10_000), predictions=rng.normal(12, 2, 10_000))
    assert report.prediction is not None and report.prediction.drifted
    assert report.to_dict()["prediction"]["column"] == "prediction"
    page = render_html(report, profile)
    # One inline SVG chart per column (3 features + prediction), no plotting library, no images to fetch.
    assert page.count("<svg ") == 4 and "data:image" not in page and "prediction" in page
    assert page.count("<rect ") > 40  # bars were drawn: 40 bins per numeric column, two series each


def test_online_monitor_sets_gauges_on_a_sliding_window(rng: np.random.Generator) -> None:
    registry = CollectorRegistry()
    profile = ReferenceProfile.build(SPEC, frame(rng, 20_000), predictions=rng.normal(10, 2, 20_000))
    monitor = OnlineDriftMonitor(SPEC, profile, window_size=3000, registry=registry, min_rows=500)
    labels = {"model": "toy"}

    monitor.observe(frame(rng, 200).to_numpy(float), rng.normal(10, 2, 200))
    assert monitor.evaluate() is None  # too few rows yet
    assert registry.get_sample_value("tripcast_drift_window_rows", labels) == 200

    monitor.observe(frame(rng, 3000).to_numpy(float), rng.normal(10, 2, 3000))
    calm = monitor.evaluate()
    assert calm is not None and not calm.dataset_drift
    assert registry.get_sample_value("tripcast_drift_dataset_drifted", labels) == 0

    # The window slides: 3000 shifted rows in several batches push every calm row out (wrapping the ring).
    for _ in range(4):
        monitor.observe(frame(rng, 750, x_shift=1.0, zone_shift=True).to_numpy(float), rng.normal(14, 2, 750))
    assert monitor.n_rows == 3000
    stormy = monitor.evaluate()
    assert stormy is not None and stormy.dataset_drift
    assert registry.get_sample_value("tripcast_drift_dataset_share", labels) == pytest.approx(2 / 3)
    assert registry.get_sample_value("tripcast_drift_feature_drifted", {**labels, "feature": "x"}) == 1
    score = registry.get_sample_value(
        "tripcast_drift_feature_score", {**labels, "feature": "x", "method": "wasserstein"}
    )
    assert score is not None and score > 0.5
    assert registry.get_sample_value("tripcast_drift_prediction_drifted", labels) == 1


def test_online_monitor_rejects_wrong_shapes(rng: np.random.Generator) -> None:
    monitor = OnlineDriftMonitor(SPEC, ReferenceProfile.build(SPEC, frame(rng, 1000)), window_size=10)
    with pytest.raises(InvalidInputError, match="feature_rows"):
        monitor.observe(np.zeros((2, 5)))
    with pytest.raises(InvalidInputError, match="predictions"):
        monitor.observe(np.zeros((2, 3)), [1.0])


def test_model_decay_flags_windows_whose_rmse_grows(rng: np.random.Generator) -> None:
    n = 4000
    ids = np.arange(n)
    actual = rng.normal(15, 5, n)
    noise = np.where(ids < 2000, rng.normal(0, 5, n), rng.normal(3, 9, n))  # second half: worse and biased
    times = pd.Timestamp("2021-03-01") + pd.to_timedelta(ids * 60, unit="s")
    predictions = pd.DataFrame({"id": ids, "prediction": actual + noise, "ts": times})
    actuals = pd.DataFrame({"id": ids[:-100], "actual": actual[:-100]})  # the last outcomes are not in yet
    monitor = ModelDecayMonitor(validation_rmse=5.0, tolerance=0.2, window_rows=1000)
    report = monitor.evaluate(predictions, actuals, on="id")
    assert report.n_joined == n - 100 and report.n_unmatched_predictions == 100
    assert list(report.windows["decayed"]) == [False, False, True, True]
    assert report.decayed and report.windows["bias"].iloc[-1] > 2
    by_day = monitor.evaluate(predictions, actuals, on="id", time_column="ts", window="1D")
    assert len(by_day.windows) == 3 and by_day.decayed
    assert by_day.to_dict()["windows"][0]["n"] == 1440
    with pytest.raises(InvalidInputError, match=r"actuals\.actual"):
        monitor.evaluate(predictions, actuals.rename(columns={"actual": "y"}), on="id")


def test_decay_gauges_publish_the_latest_window(rng: np.random.Generator) -> None:
    from tripcast.mlops.drift_detection.decay import DecayGauges

    ids = np.arange(2000)
    actual = rng.normal(15, 5, 2000)
    predictions = pd.DataFrame({"id": ids, "prediction": actual + rng.normal(2, 10, 2000)})
    report = ModelDecayMonitor(5.0, window_rows=1000).evaluate(
        predictions, pd.DataFrame({"id": ids, "actual": actual}), on="id"
    )
    registry = CollectorRegistry()
    DecayGauges("toy", registry).publish(report)
    ratio = registry.get_sample_value("tripcast_model_rmse_ratio", {"model": "toy"})
    assert ratio == pytest.approx(report.windows["rmse_ratio"].iloc[-1]) and ratio > 1.5


def test_a_check_of_no_rows_is_an_error_never_a_pass(rng: np.random.Generator) -> None:
    from tripcast.mlops.drift_detection import InsufficientDataError

    profile = ReferenceProfile.build(SPEC, frame(rng, 2000))
    with pytest.raises(InsufficientDataError, match="0 current rows"):
        DriftDetector(SPEC, profile).check(frame(rng, 0))
    with pytest.raises(InsufficientDataError, match="99 current rows; a drift check needs at least 100"):
        DriftDetector(SPEC, profile, DriftConfig(min_rows=100)).check(frame(rng, 99))
    assert DriftDetector(SPEC, profile, DriftConfig(min_rows=100)).check(frame(rng, 100)).n_current == 100
    with pytest.raises(InvalidInputError, match="min_rows"):
        DriftConfig(min_rows=0)


def test_a_column_without_a_score_is_inconclusive_and_counts_as_drifted(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 5000))
    current = frame(rng, 500).assign(x=np.nan)  # a feature that arrives all null: nothing to compare
    report = DriftDetector(SPEC, profile).check(current)
    x = report.column("x")
    assert not np.isfinite(x.score) and x.inconclusive and x.drifted
    assert report.inconclusive_columns == ["x"] and "x" in report.drifted_columns
    assert x.to_dict()["score"] is None and x.to_dict()["inconclusive"] is True
    assert not report.column("hour").inconclusive and not report.column("hour").drifted


def test_online_monitor_gives_no_verdict_on_an_empty_window(rng: np.random.Generator) -> None:
    profile = ReferenceProfile.build(SPEC, frame(rng, 2000))
    monitor = OnlineDriftMonitor(SPEC, profile, window_size=100, registry=CollectorRegistry(), min_rows=0)
    assert monitor.evaluate() is None


def test_prediction_distribution_bins_the_window_and_the_reference_alike(rng: np.random.Generator) -> None:
    reference = rng.normal(10, 2, 20_000)
    profile = ReferenceProfile.build(SPEC, frame(rng, 20_000), predictions=reference)
    monitor = OnlineDriftMonitor(SPEC, profile, window_size=1000, registry=CollectorRegistry())
    assert monitor.prediction_distribution() is None  # nothing served yet
    served = rng.normal(14, 2, 1000)
    monitor.observe(frame(rng, 1000).to_numpy(float), served)
    found = monitor.prediction_distribution(bins=10)
    assert found is not None and (found.n_reference, found.n_current) == (20_000, 1000)
    assert len(found.edges) == 11 and len(found.reference) == len(found.current) == 10
    assert sum(found.reference) == pytest.approx(1) and sum(found.current) == pytest.approx(1)
    # The bins span the reference's central 99 %: the shifted window piles into the upper bins (tail included).
    assert found.edges[0] == pytest.approx(np.quantile(reference, 0.005), abs=0.1)
    assert found.current[-1] == pytest.approx(np.mean(served >= found.edges[-2]), abs=0.01)
    assert found.current[-1] > 0.4 and found.reference[-1] < 0.05
    # Rows without a prediction (the window also takes unscored rows) are left out.
    monitor.observe(frame(rng, 10).to_numpy(float))
    assert monitor.prediction_distribution(bins=10).n_current == 990  # type: ignore[union-attr]


def test_prediction_distribution_is_none_without_a_reference_of_predictions(rng: np.random.Generator) -> None:
    monitor = OnlineDriftMonitor(SPEC, ReferenceProfile.build(SPEC, frame(rng, 1000)), window_size=100)
    monitor.observe(frame(rng, 100).to_numpy(float), rng.normal(10, 2, 100))
    assert monitor.prediction_distribution() is None

import pytest

from tripcast.core.domain.evaluation import Evaluation, decide_promotion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC),), target="y")


def ev(rmse: float, digest: str = "d1") -> Evaluation:
    return Evaluation({"rmse": rmse, "mae": rmse / 2, "r2": 0.5}, n=100, dataset="2021-02", dataset_digest=digest)


def test_first_model_is_approved():
    decision = decide_promotion(SPEC, ev(5.0), None)
    assert decision.approved and decision.champion_score is None


def test_better_candidate_is_approved_and_worse_refused():
    assert decide_promotion(SPEC, ev(5.0), ev(5.5)).approved
    refused = decide_promotion(SPEC, ev(5.6), ev(5.5))
    assert not refused.approved and "not better" in refused.reason


def test_equal_score_is_not_better():
    assert not decide_promotion(SPEC, ev(5.5), ev(5.5)).approved


def test_force_overrides_the_gate_and_says_so():
    decision = decide_promotion(SPEC, ev(9.0), ev(5.5), force=True)
    assert decision.approved and "forced" in decision.reason


def test_greater_is_better_metrics_flip_the_comparison():
    spec = ModelSpec("acc", SPEC.features, target="y", metrics=("auc",), primary_metric="auc", greater_is_better=True)
    better = Evaluation({"auc": 0.9}, 10, "d")
    worse = Evaluation({"auc": 0.8}, 10, "d")
    assert decide_promotion(spec, better, worse).approved
    assert not decide_promotion(spec, worse, better).approved


def test_gate_refuses_to_compare_different_datasets():
    with pytest.raises(ValueError, match="same data"):
        decide_promotion(SPEC, ev(5.0, "a"), ev(5.5, "b"))


def test_spec_rejects_duplicate_features_and_unknown_primary_metric():
    with pytest.raises(ValueError, match="duplicate"):
        ModelSpec("bad", (FeatureSpec("x", FeatureKind.NUMERIC),) * 2, target="y")
    with pytest.raises(ValueError, match="primary metric"):
        ModelSpec("bad", SPEC.features, target="y", primary_metric="auc")

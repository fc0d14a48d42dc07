"""The statistics engine on synthetic data: Welch agreement with statsmodels, SRM, CUPED, Holm, guardrails,
the verdict rule and bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from experiment_data import definition, observations
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.experiment import CanaryStep, ExperimentMode, GuardrailResult, Verdict
from tripcast.mlops.ab_testing.analysis import StatsEngine, render_html, result_to_dict

ENGINE = StatsEngine()


def test_fixed_horizon_welch_equals_statsmodels() -> None:
    table = observations({"control": 700, "treatment": 450}, {"treatment": -0.4}, seed=3)
    # unequal variances too: stretch the treatment's outcomes around their mean
    frame = table.to_pandas()
    is_t = frame["arm"] == "treatment"
    frame.loc[is_t, "outcome"] = 10 + 2.5 * (frame.loc[is_t, "outcome"] - 10)
    result = ENGINE.analyze(definition(), frame.drop(columns=["covariate"]))
    x1 = frame.loc[is_t, "outcome"].to_numpy()
    x2 = frame.loc[~is_t, "outcome"].to_numpy()
    t, p, df = ttest_ind(x1, x2, usevar="unequal")
    low, high = CompareMeans(DescrStatsW(x1), DescrStatsW(x2)).tconfint_diff(alpha=0.05, usevar="unequal")
    fixed = result.fixed_horizon
    assert fixed["t"] == pytest.approx(t, abs=1e-6)
    assert fixed["p"] == pytest.approx(p, abs=1e-6)
    assert fixed["df"] == pytest.approx(df, abs=1e-6)
    assert fixed["ci_low"] == pytest.approx(low, abs=1e-6)
    assert fixed["ci_high"] == pytest.approx(high, abs=1e-6)
    assert result.effect == pytest.approx(x1.mean() - x2.mean(), abs=1e-9)
    assert result.variance_reduction is None and result.cuped_theta is None
    # the always-valid interval pays for peeking: it is wider than the fixed-horizon one
    assert result.ci_low < low and result.ci_high > high


def test_srm_flags_52_48_on_20000_units_and_not_a_fair_split() -> None:
    skewed = ENGINE.analyze(definition(), observations({"control": 10_400, "treatment": 9_600}, {"treatment": -3.0}))
    assert skewed.srm_p < 0.001
    assert skewed.verdict is Verdict.INVALID
    assert "sample ratio mismatch" in skewed.rule
    assert skewed.srm_expected == {"control": 10_000.0, "treatment": 10_000.0}
    rng = np.random.default_rng(11)
    n_control = int(rng.binomial(20_000, 0.5))
    fair = ENGINE.analyze(definition(), observations({"control": n_control, "treatment": 20_000 - n_control}))
    assert fair.srm_p > 0.001
    assert fair.verdict is not Verdict.INVALID


def test_cuped_reduces_variance_by_rho_squared() -> None:
    rho = 0.7
    table = observations({"control": 20_000, "treatment": 20_000}, {"treatment": -0.3}, rho=rho, seed=5)
    with_cuped = ENGINE.analyze(definition(covariate="covariate"), table)
    without = ENGINE.analyze(definition(), table.drop(["covariate"]))
    assert with_cuped.variance_reduction == pytest.approx(rho**2, abs=0.02)
    assert with_cuped.cuped_theta == pytest.approx(rho * 5.0 / 2.0, rel=0.05)  # cov / var(X) = rho*sd_y/sd_x
    assert (with_cuped.ci_high - with_cuped.ci_low) < 0.8 * (without.ci_high - without.ci_low)
    # a covariate column of nulls is no covariate: CUPED is skipped cleanly
    nulls = table.set_column(3, "covariate", pa.nulls(table.num_rows, pa.float64()))
    assert ENGINE.analyze(definition(), nulls).variance_reduction is None


def test_holm_over_three_arms() -> None:
    table = observations({"control": 3000, "better": 3000, "same": 3000}, {"better": -1.0}, seed=2)
    result = ENGINE.analyze(definition(("control", "better", "same")), table)
    assert result.verdict is Verdict.SHIP and result.treatment == "better"
    raw = [float(c["p_always_valid"]) for c in result.comparisons]  # type: ignore[arg-type]
    expected = multipletests(raw, method="holm")[1]
    assert [c["p_holm"] for c in result.comparisons] == pytest.approx(list(expected))
    assert all(float(c["p_holm"]) >= float(c["p_always_valid"]) for c in result.comparisons)  # type: ignore[arg-type]
    same = next(c for c in result.comparisons if c["arm"] == "same")
    assert float(same["ci_low"]) < 0 < float(same["ci_high"])  # type: ignore[arg-type]


def test_guardrail_failure_keeps_the_champion() -> None:
    table = observations({"control": 3000, "treatment": 3000}, {"treatment": -1.5})
    failed = (GuardrailResult("p99_latency_ms", "treatment", 80.0, 50.0, ok=False),)
    result = ENGINE.analyze(definition(), table, guardrails=failed)
    assert result.verdict is Verdict.KEEP_CHAMPION
    assert "guardrail failed: p99_latency_ms in treatment" in result.rule
    held = (GuardrailResult("p99_latency_ms", "treatment", 20.0, 50.0, ok=True),)
    assert ENGINE.analyze(definition(), table, guardrails=held).verdict is Verdict.SHIP


def test_verdicts_worse_futile_continue_and_direction() -> None:
    worse = ENGINE.analyze(definition(), observations({"control": 3000, "treatment": 3000}, {"treatment": 1.5}))
    assert worse.verdict is Verdict.KEEP_CHAMPION and "worse side" in worse.rule
    higher = ENGINE.analyze(
        definition(higher_is_better=True), observations({"control": 3000, "treatment": 3000}, {"treatment": 1.5})
    )
    assert higher.verdict is Verdict.SHIP
    tiny = ENGINE.analyze(definition(), observations({"control": 60, "treatment": 60}, {"treatment": -20.0}))
    assert tiny.ci_high < 0 and tiny.verdict is Verdict.CONTINUE and "fewer than 100 units" in tiny.rule
    early = ENGINE.analyze(definition(), observations({"control": 100, "treatment": 100}, seed=4))
    assert early.verdict is Verdict.CONTINUE
    assert early.sequential_n_per_arm is not None and early.sequential_n_per_arm > 100
    late = ENGINE.analyze(definition(), observations({"control": 6000, "treatment": 6000}, seed=4))
    assert late.verdict is Verdict.KEEP_CHAMPION and "futility" in late.rule
    assert late.sequential_n_per_arm is not None and late.sequential_n_per_arm < 6000


def test_sample_sizes_follow_statsmodels_and_the_sequential_horizon_is_larger() -> None:
    d = definition()
    fixed = ENGINE.sample_size(d, 10.0, 5.0)
    assert fixed == 393  # NormalIndPower: d = 0.2, alpha 0.05, power 0.8
    assert 1.5 * fixed < ENGINE.sequential_sample_size(d, 10.0, 5.0) < 2.5 * fixed


def test_a_huge_effect_plans_a_few_units_where_statsmodels_gives_up() -> None:
    # MDE 10 % of a mean of 100 with sd 2: d = 5; NormalIndPower's root finder returns NaN there.
    planned = ENGINE.sample_size(definition(), 100.0, 2.0)
    assert planned == 2  # the closed form: (1.96 + 0.84)^2 * 2 / 25 = 0.63 units, at least 2
    assert ENGINE.sample_size(definition(), 100.0, 40.0) == 252  # d = 0.25: statsmodels answers, as before


def test_reads_parquet_paths_and_pandas(tmp_path: Path) -> None:
    table = observations({"control": 2000, "treatment": 2000}, {"treatment": -1.0})
    path = tmp_path / "obs.parquet"
    pq.write_table(table, path)
    from_arrow = ENGINE.analyze(definition(), table)
    for source in (path, str(path), table.to_pandas()):
        result = ENGINE.analyze(definition(), source)
        assert result.effect == pytest.approx(from_arrow.effect)
        assert result.n_per_arm == {"control": 2000, "treatment": 2000}
    assert from_arrow.looks and from_arrow.looks[-1]["n"] == 4000


def _problems(error: pytest.ExceptionInfo[InvalidInputError]) -> str:
    return str(error.value)


def test_bad_input_is_named() -> None:
    table = observations({"control": 50, "treatment": 50})
    with pytest.raises(InvalidInputError, match="no rows"):
        ENGINE.analyze(definition(), table.slice(0, 0))
    with pytest.raises(InvalidInputError, match="outcome: column missing"):
        ENGINE.analyze(definition(), table.drop(["outcome"]))
    no_outcomes = table.to_pandas()
    no_outcomes.loc[no_outcomes["arm"] == "treatment", "outcome"] = None
    with pytest.raises(InvalidInputError, match="arm 'treatment' has no outcomes"):
        ENGINE.analyze(definition(), no_outcomes)
    with pytest.raises(InvalidInputError, match="arm 'stranger' is not in the experiment"):
        ENGINE.analyze(definition(), observations({"control": 50, "treatment": 50, "stranger": 5}))


def test_canary_srm_expects_each_steps_weights_and_shadow_is_not_checked() -> None:
    steps = (CanaryStep(0, 0.1), CanaryStep(7 * 86400, 0.5))
    canary = dataclasses.replace(definition(), mode=ExperimentMode.CANARY, canary_steps=steps)
    rng = np.random.default_rng(3)
    days = rng.uniform(0, 14, 20_000)
    share = np.where(days >= 7, 0.5, 0.1)
    frame = pd.DataFrame(
        {
            "arm": np.where(rng.random(20_000) < share, "treatment", "control"),
            "unit_id": [f"u{i}" for i in range(20_000)],
            "outcome": rng.normal(10, 5, 20_000),
            "at": pd.Timestamp("2021-01-01") + pd.to_timedelta(days, unit="D"),
        }
    )
    honest = ENGINE.analyze(canary, frame)
    assert honest.srm_p > 0.001
    assert honest.srm_expected["treatment"] == pytest.approx(0.1 * (days < 7).sum() + 0.5 * (days >= 7).sum())
    # the same units analysed as a 50/50 A/B are a glaring mismatch
    assert ENGINE.analyze(definition(), frame).verdict is Verdict.INVALID
    # a canary stuck at its first step is caught
    stuck = frame.assign(arm=np.where(rng.random(20_000) < 0.1, "treatment", "control"))
    assert ENGINE.analyze(canary, stuck).verdict is Verdict.INVALID
    shadow = dataclasses.replace(definition(), mode=ExperimentMode.SHADOW)
    assert ENGINE.analyze(shadow, frame).srm_p == 1.0


def test_degenerate_samples_continue_or_decide_without_crashing() -> None:
    one_each = pd.DataFrame({"arm": ["control", "treatment"], "unit_id": ["1", "2"], "outcome": [1.0, 2.0]})
    early = ENGINE.analyze(definition(), one_each)
    assert early.verdict is Verdict.CONTINUE and early.planned_n_per_arm is None
    json.dumps(result_to_dict(early), allow_nan=False)  # nan numbers become null
    assert "n/a" in render_html(early)
    exact = pd.DataFrame(
        {"arm": ["control", "treatment"] * 200, "unit_id": [str(i) for i in range(400)], "outcome": [3.0, 2.0] * 200}
    )
    shipped = ENGINE.analyze(definition(), exact)  # no spread at all: the difference is exact
    assert shipped.verdict is Verdict.SHIP and shipped.ci_low == shipped.ci_high == -1.0


def test_at_is_optional_and_may_be_a_number() -> None:
    table = observations({"control": 1500, "treatment": 1500}, {"treatment": -1.0})
    timed = ENGINE.analyze(definition(), table)
    untimed = ENGINE.analyze(definition(), table.drop(["at"]))
    assert untimed.effect == pytest.approx(timed.effect) and len(untimed.looks) == 1
    seconds = table.set_column(4, "at", pa.array(np.arange(table.num_rows, dtype=float)))
    numbered = ENGINE.analyze(definition(), seconds)
    assert numbered.effect == pytest.approx(timed.effect) and numbered.looks[-1]["at"] == pytest.approx(2999.0)

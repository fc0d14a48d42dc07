"""The pre-registered decision rule, applied in this order (the first that applies decides):

1. INVALID when the sample ratio mismatch p < 0.001 (nothing else is said about a broken split);
2. KEEP_CHAMPION when a guardrail failed;
3. SHIP when a treatment's always-valid interval excludes 0 on the better side (with several treatments:
   its Holm-adjusted always-valid p < alpha; the best such treatment ships), once both arms have
   ``MIN_UNITS_PER_ARM`` units (the interval plugs in estimated variances);
4. KEEP_CHAMPION when every treatment is significantly worse, or has reached the sequential horizon with an
   interval that excludes an improvement as large as the minimum detectable effect (futility);
5. CONTINUE otherwise.

Lower outcome is better unless the definition says ``higher_is_better``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tripcast.core.domain.experiment import ExperimentDefinition, GuardrailResult, Verdict
from tripcast.mlops.ab_testing.analysis.sequential import MIN_UNITS_PER_ARM

SRM_ALPHA = 0.001


@dataclass
class Comparison:
    """One treatment against the control at the current sample."""

    arm: str
    effect: float
    ci_low: float
    ci_high: float
    p: float  # always-valid p-value
    p_holm: float
    reached_horizon: bool
    fixed: dict[str, float] = field(default_factory=dict)
    control: str = "control"  # the control arm's name, for the rule's text
    enough_units: bool = True  # both arms have MIN_UNITS_PER_ARM units: the interval may decide

    def as_dict(self) -> dict[str, object]:
        """JSON-able form for ``AnalysisResult.comparisons``."""
        return {
            "arm": self.arm,
            "effect": self.effect,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_always_valid": self.p,
            "p_holm": self.p_holm,
            "reached_sequential_horizon": self.reached_horizon,
            "enough_units": self.enough_units,
            "fixed_horizon": dict(self.fixed),
        }


def _better(definition: ExperimentDefinition, c: Comparison) -> bool:
    return c.effect > 0 if definition.higher_is_better else c.effect < 0


def _futile(definition: ExperimentDefinition, c: Comparison, mde: float) -> bool:
    if not c.reached_horizon:
        return False
    return c.ci_high < mde if definition.higher_is_better else c.ci_low > -mde


def _interval(c: Comparison) -> str:
    return f"{c.arm} - {c.control} = {c.effect:.4g}, always-valid interval [{c.ci_low:.4g}, {c.ci_high:.4g}]"


def decide(
    definition: ExperimentDefinition,
    srm_p: float,
    guardrails: tuple[GuardrailResult, ...],
    comparisons: list[Comparison],
    mde: float,
) -> tuple[Verdict, str, int]:
    """(verdict, the rule that decided in words, index of the comparison the verdict is about)."""
    alpha = definition.alpha
    side = "higher" if definition.higher_is_better else "lower"
    by_effect = sorted(
        range(len(comparisons)), key=lambda i: comparisons[i].effect, reverse=definition.higher_is_better
    )
    best = by_effect[0]
    if srm_p < SRM_ALPHA:
        return (
            Verdict.INVALID,
            f"sample ratio mismatch: chi-square p = {srm_p:.3g} < {SRM_ALPHA}; no verdict is given",
            best,
        )
    failed = [g for g in guardrails if not g.ok]
    if failed:
        words = "; ".join(f"{g.metric} in {g.arm} = {g.value:.4g} over its limit {g.limit:.4g}" for g in failed)
        return Verdict.KEEP_CHAMPION, f"guardrail failed: {words}", best
    significant = [i for i in by_effect if comparisons[i].p_holm < alpha and comparisons[i].enough_units]
    winners = [i for i in significant if _better(definition, comparisons[i])]
    if winners:
        c = comparisons[winners[0]]
        return (
            Verdict.SHIP,
            f"{_interval(c)} excludes 0 on the better ({side}) side (p = {c.p_holm:.3g} < {alpha})",
            winners[0],
        )
    worse = [i for i in significant if not _better(definition, comparisons[i])]
    futile = [i for i in range(len(comparisons)) if _futile(definition, comparisons[i], mde)]
    if len(set(worse) | set(futile)) == len(comparisons):
        c = comparisons[best]
        if best in worse:
            return (
                Verdict.KEEP_CHAMPION,
                f"{_interval(c)} excludes 0 on the worse side (p = {c.p_holm:.3g} < {alpha})",
                best,
            )
        return (
            Verdict.KEEP_CHAMPION,
            f"futility: at the sequential horizon, {_interval(c)} excludes an improvement of the minimum "
            f"detectable effect ({mde:.4g})",
            best,
        )
    c = comparisons[best]
    if not all(x.enough_units for x in comparisons):
        return (
            Verdict.CONTINUE,
            f"fewer than {MIN_UNITS_PER_ARM} units in an arm: no decision yet ({_interval(c)})",
            best,
        )
    return Verdict.CONTINUE, f"{_interval(c)} contains 0 and an improvement of {mde:.4g} is still possible", best

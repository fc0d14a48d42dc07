"""Synthetic observations for the statistics engine's tests (one row per unit, OBSERVATION_COLUMNS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from tripcast.core.domain.experiment import Arm, ExperimentDefinition, Guardrail

START = pd.Timestamp("2021-01-01")


def definition(arms: tuple[str, ...] = ("control", "treatment"), **kwargs: object) -> ExperimentDefinition:
    """Equal-weight experiment over ``arms`` (the first is the control)."""
    weights = [1 / len(arms)] * len(arms)
    weights[-1] = 1 - sum(weights[:-1])
    return ExperimentDefinition(
        "exp-1",
        "any-model",
        tuple(Arm(name, f"v{i + 1}", w) for i, (name, w) in enumerate(zip(arms, weights, strict=True))),
        guardrails=(Guardrail("p99_latency_ms", 50.0),),
        **kwargs,  # type: ignore[arg-type]
    )


def observations(
    n_per_arm: dict[str, int],
    effects: dict[str, float] | None = None,
    *,
    mean: float = 10.0,
    std: float = 5.0,
    rho: float = 0.0,
    seed: int = 0,
) -> pa.Table:
    """Normal outcomes per arm (``mean`` + the arm's effect), a covariate with correlation ``rho`` to the
    outcome, times spread over 14 days."""
    rng = np.random.default_rng(seed)
    effects = effects or {}
    arms = np.repeat(list(n_per_arm), list(n_per_arm.values()))
    total = len(arms)
    z = rng.normal(size=total)
    covariate = 3.0 + 2.0 * z
    noise = rho * z + np.sqrt(1 - rho * rho) * rng.normal(size=total)
    outcome = mean + std * noise + np.array([effects.get(a, 0.0) for a in arms])
    at = START + pd.to_timedelta(rng.uniform(0, 14 * 86400, total), unit="s")
    return pa.table(
        {
            "arm": arms,
            "unit_id": [f"u{i}" for i in range(total)],
            "outcome": outcome,
            "covariate": covariate,
            "at": pa.array(at.to_numpy()),
        }
    )

"""Guardrail metrics measured from an experiment's exposures (vectorised, no loop over rows).

Per arm: ``p99_latency_ms`` (the 99th percentile of the time the arm took per request), ``error_rate`` (the
share of its requests it failed) and ``prediction_drift`` (the population stability index of its predictions
against the control's: ten bins at the control's deciles). Randomisation gives every arm the same inputs, so a
drift between arms is the models', not the traffic's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Bins of the population stability index (the control's deciles).
PSI_BINS = 10
#: Floor of a bin's share, so an empty bin adds a large but finite term.
PSI_FLOOR = 1e-4


def population_stability_index(reference: Any, current: Any, bins: int = PSI_BINS) -> float:
    """PSI of ``current`` against ``reference`` (bins at the reference's quantiles); NaN when either is empty."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        return math.nan
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    actual = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def arm_measures(exposures: Any, control_arm: str) -> dict[str, dict[str, float]]:
    """``exposures`` (a DataFrame: arm, prediction, latency_ms, error) -> arm -> guardrail metric -> value."""
    control = exposures.loc[exposures["arm"] == control_arm, "prediction"].to_numpy(dtype=float)
    measures: dict[str, dict[str, float]] = {}
    for arm, rows in exposures.groupby("arm", sort=True):
        latency = rows["latency_ms"].dropna().to_numpy(dtype=float)
        measures[str(arm)] = {
            "requests": float(len(rows)),
            "p99_latency_ms": float(np.quantile(latency, 0.99)) if latency.size else math.nan,
            "error_rate": float(rows["error"].astype("boolean").fillna(False).astype(bool).mean()),
            "prediction_drift": population_stability_index(control, rows["prediction"].to_numpy(dtype=float)),
        }
    return measures

"""Diagnostic figures for a regression model, drawn off-screen with matplotlib's Agg backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

RESIDUALS_FILE: Final = "diagnostics/residuals.png"
IMPORTANCE_FILE: Final = "diagnostics/feature_importance.png"
#: Scatter plots of more points than this are sampled: 60k points add ink, not information.
MAX_SCATTER_POINTS: Final = 5000


def residual_figure(actual: np.ndarray, predicted: np.ndarray, *, unit: str = "", title: str = "") -> Figure:
    """Predicted vs actual scatter (with the identity line) beside a histogram of residuals."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    residuals = actual - predicted
    shown = np.arange(len(actual))
    if len(shown) > MAX_SCATTER_POINTS:
        shown = np.random.default_rng(0).choice(shown, MAX_SCATTER_POINTS, replace=False)
    suffix = f" ({unit})" if unit else ""
    fig, (scatter, hist) = plt.subplots(1, 2, figsize=(11, 4.5))
    scatter.scatter(actual[shown], predicted[shown], s=4, alpha=0.3)
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    scatter.plot([low, high], [low, high], color="red", linewidth=1, label="perfect")
    scatter.set_xlabel(f"actual{suffix}")
    scatter.set_ylabel(f"predicted{suffix}")
    scatter.set_title("Predicted vs actual")
    scatter.legend(loc="upper left")
    hist.hist(residuals, bins=80)
    hist.axvline(0.0, color="red", linewidth=1)
    hist.set_xlabel(f"actual - predicted{suffix}")
    hist.set_ylabel("rows")
    hist.set_title(f"Residuals: mean {residuals.mean():.2f}, sd {residuals.std():.2f}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def importance_figure(importance: Mapping[str, float], *, title: str = "Feature importance") -> Figure:
    """Horizontal bars of importance per feature, largest on top."""
    ordered = sorted(importance.items(), key=lambda item: item[1])
    fig, axis = plt.subplots(figsize=(8, max(2.5, 0.4 * len(ordered) + 1)))
    axis.barh([name for name, _ in ordered], [value for _, value in ordered])
    axis.set_xlabel("importance")
    axis.set_title(title)
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    """Release a figure's memory (pyplot keeps every open figure alive)."""
    plt.close(fig)

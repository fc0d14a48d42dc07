"""Concept drift / model decay: live error once the actual outcomes are known.

Predictions are logged when served; the outcomes (actual durations) arrive later. Joining
the two on a request id gives the live error, which is compared, window by window, with
the error the model had on its validation set when it was promoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError


@dataclass(frozen=True, slots=True)
class DecayReport:
    """Rolling error windows and the verdict on the latest one."""

    windows: pd.DataFrame  # window_end, n, rmse, bias, rmse_ratio, decayed
    validation_rmse: float
    tolerance: float
    n_joined: int
    n_unmatched_predictions: int

    @property
    def latest(self) -> dict[str, Any]:
        if self.windows.empty:
            return {}
        return {str(k): (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.windows.iloc[-1].items()}

    @property
    def decayed(self) -> bool:
        """Whether the latest complete window's RMSE exceeds validation RMSE by more than the tolerance."""
        return bool(not self.windows.empty and self.windows["decayed"].iloc[-1])

    def to_dict(self) -> dict[str, Any]:
        windows = self.windows.copy()
        for col in windows.columns:
            if pd.api.types.is_datetime64_any_dtype(windows[col]):
                windows[col] = windows[col].astype(str)
        return {
            "validation_rmse": self.validation_rmse,
            "tolerance": self.tolerance,
            "n_joined": self.n_joined,
            "n_unmatched_predictions": self.n_unmatched_predictions,
            "decayed": self.decayed,
            "windows": windows.to_dict(orient="records"),
        }


class ModelDecayMonitor:
    """Rolling RMSE and bias of joined predictions/outcomes against the validation RMSE.

    ``tolerance`` 0.2 flags a window whose RMSE is more than 20 % above validation RMSE.
    Windows are by count (``window_rows``) or, when ``time_column`` is given, by time
    (``window`` as a pandas offset such as ``"1D"``).
    """

    def __init__(
        self,
        validation_rmse: float,
        *,
        tolerance: float = 0.2,
        window_rows: int = 1000,
        min_rows: int = 30,
    ) -> None:
        if not validation_rmse > 0:
            raise InvalidInputError([FieldProblem("validation_rmse", f"must be positive, got {validation_rmse}")])
        self.validation_rmse = float(validation_rmse)
        self.tolerance = tolerance
        self.window_rows = window_rows
        self.min_rows = min_rows

    def evaluate(
        self,
        predictions: pd.DataFrame,
        actuals: pd.DataFrame,
        *,
        on: str,
        prediction_column: str = "prediction",
        actual_column: str = "actual",
        time_column: str | None = None,
        window: str = "1D",
    ) -> DecayReport:
        """Join on ``on`` and compute per-window error; unmatched predictions are counted, not dropped silently."""
        for frame, cols, label in (
            (predictions, [on, prediction_column], "predictions"),
            (actuals, [on, actual_column], "actuals"),
        ):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise InvalidInputError([FieldProblem(f"{label}.{c}", "column is missing") for c in missing])
        joined = predictions.merge(actuals[[on, actual_column]], on=on, how="inner", validate="one_to_one")
        error = joined[prediction_column].to_numpy(float) - joined[actual_column].to_numpy(float)
        joined = joined.assign(_error=error)
        if time_column is not None:
            if time_column not in joined.columns:
                raise InvalidInputError([FieldProblem(f"predictions.{time_column}", "column is missing")])
            keys = joined[time_column].dt.floor(window)
            groups = joined.sort_values(time_column).groupby(keys.rename("window_end"), sort=True)["_error"]
        else:
            groups = joined.groupby(np.arange(len(joined)) // self.window_rows)["_error"]
        windows = groups.agg(
            n="size",
            rmse=lambda e: float(np.sqrt(np.mean(np.square(e)))),
            bias=lambda e: float(np.mean(e)),
        ).reset_index()
        if "window_end" not in windows.columns:
            windows = windows.rename(columns={windows.columns[0]: "window_end"})
        windows = windows[windows["n"] >= self.min_rows].reset_index(drop=True)
        windows["rmse_ratio"] = windows["rmse"] / self.validation_rmse
        windows["decayed"] = windows["rmse_ratio"] > 1 + self.tolerance
        return DecayReport(
            windows=windows,
            validation_rmse=self.validation_rmse,
            tolerance=self.tolerance,
            n_joined=len(joined),
            n_unmatched_predictions=len(predictions) - len(joined),
        )


class DecayGauges:
    """Publishes the latest decay window as Prometheus gauges (``tripcast_model_rmse*``, ``..._bias``)."""

    def __init__(self, model: str, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        registry = registry if registry is not None else CollectorRegistry()
        self._labels = {"model": model}
        self.rmse = Gauge("tripcast_model_rmse", "Live RMSE of the latest window", ["model"], registry=registry)
        self.ratio = Gauge(
            "tripcast_model_rmse_ratio",
            "Live RMSE / validation RMSE of the latest window",
            ["model"],
            registry=registry,
        )
        self.bias = Gauge(
            "tripcast_model_bias", "Mean (prediction - actual), latest window", ["model"], registry=registry
        )

    def publish(self, report: DecayReport) -> None:
        latest = report.latest
        if not latest:
            return
        self.rmse.labels(**self._labels).set(float(latest["rmse"]))
        self.ratio.labels(**self._labels).set(float(latest["rmse_ratio"]))
        self.bias.labels(**self._labels).set(float(latest["bias"]))

"""Gradient-boosted trees with LightGBM, for any regression :class:`ModelSpec`.

The validation set is the promotion gate's data, so it never steers training: the
model trains a fixed number of rounds, or (``holdout_fraction > 0``) early-stops on
a held-out tail of the *training* rows.

Categorical features are passed to LightGBM as integer columns named in
``categorical_feature``. A categorical with very many levels (the taxi ``zone_pair``
has ~10k) is slow to split as a category and measured no better than treating its
integer id as ordered (val RMSE 5.403 vs 5.395 on green 2021-02, 7 s vs 1.5 s), so
features with more than ``max_categorical_levels`` distinct training values are
passed as plain numbers; the params record which ones.

Size: 100 rounds at learning rate 0.1. Serving cost grows with the number of trees, and the model
answers single requests: on green 2021-01 -> 2021-02 (2026-11-26) 400 rounds at 0.05 gave RMSE 5.376
at 37 us per single-row call, 200 at 0.1 gave 5.405 at 17 us, 100 at 0.1 gave 5.420 at 9 us
(LightGBM's single-row C API, a different real row per call; performance/optimization/README.md).
Pass ``num_boost_round`` and ``learning_rate`` for the last 0.8% of accuracy when latency matters less.
"""

from __future__ import annotations

from typing import Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import ModelTrainer, TrainedModel, TrainingSet

FLAVOR: Final = "lightgbm"

#: Tuned on green 2021-01 -> 2021-02 (see module docstring); 2 threads keep a shared box responsive.
DEFAULT_PARAMS: Final[dict[str, Any]] = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 63,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "max_cat_to_onehot": 4,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 50,
    "num_threads": 2,
    "seed": 42,
    "deterministic": True,
    "verbose": -1,
}


#: Boosting rounds (trees) by default; see the module docstring for the latency / accuracy trade.
DEFAULT_ROUNDS: Final = 100


class LightGBMModel(TrainedModel):
    """A fitted LightGBM booster for a spec; ``native`` is the :class:`lightgbm.Booster`."""

    flavor = FLAVOR

    def __init__(self, booster: lgb.Booster, spec: ModelSpec, params: dict[str, Any]) -> None:
        self.native = booster
        self.spec = spec
        self.params = params

    def predict(self, features: Any) -> np.ndarray:
        """Predictions for a feature DataFrame (spec columns) or a float matrix in spec order."""
        if isinstance(features, pd.DataFrame):
            features = features[self.spec.feature_names]
        return np.asarray(self.native.predict(features), dtype=np.float64)

    def feature_importance(self) -> dict[str, float]:
        """Total split gain per feature, in spec order."""
        gains = self.native.feature_importance(importance_type="gain")
        return {name: float(g) for name, g in zip(self.native.feature_name(), gains, strict=True)}


class LightGBMTrainer(ModelTrainer):
    """Fits a :class:`LightGBMModel` for ``spec``.

    ``params`` override :data:`DEFAULT_PARAMS`. ``holdout_fraction`` > 0 holds out that
    share of the training rows (the last ones, i.e. the end of the month when rows are in
    time order) for early stopping with ``early_stopping_rounds`` patience.
    """

    def __init__(
        self,
        spec: ModelSpec,
        params: dict[str, Any] | None = None,
        *,
        num_boost_round: int = DEFAULT_ROUNDS,
        max_categorical_levels: int = 1000,
        holdout_fraction: float = 0.0,
        early_stopping_rounds: int = 50,
    ) -> None:
        if num_boost_round < 1:
            raise ValueError(f"num_boost_round must be >= 1, got {num_boost_round}")
        if not 0.0 <= holdout_fraction < 0.5:
            raise ValueError(f"holdout_fraction must be in [0, 0.5), got {holdout_fraction}")
        self.spec = spec
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.num_boost_round = num_boost_round
        self.max_categorical_levels = max_categorical_levels
        self.holdout_fraction = holdout_fraction
        self.early_stopping_rounds = early_stopping_rounds

    def fit(self, train: TrainingSet, valid: TrainingSet) -> LightGBMModel:
        """Fit on ``train``. ``valid`` is deliberately unused: it is the promotion gate's data."""
        del valid
        features = train.features[self.spec.feature_names]
        target = np.asarray(train.target, dtype=np.float64)
        categorical = [
            name for name in self.spec.categorical_features if features[name].nunique() <= self.max_categorical_levels
        ]
        as_numeric = [name for name in self.spec.categorical_features if name not in categorical]

        n_holdout = int(len(features) * self.holdout_fraction)
        callbacks: list[Any] = []
        valid_sets: list[lgb.Dataset] = []
        if n_holdout > 0:
            cut = len(features) - n_holdout
            fit_set = lgb.Dataset(features.iloc[:cut], target[:cut], categorical_feature=categorical)
            valid_sets = [lgb.Dataset(features.iloc[cut:], target[cut:], reference=fit_set)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        else:
            fit_set = lgb.Dataset(features, target, categorical_feature=categorical)
        booster = lgb.train(
            self.params,
            fit_set,
            num_boost_round=self.num_boost_round,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        if n_holdout > 0 and booster.best_iteration > 0:
            # Keep only the rounds that helped on the holdout; saved models then predict with those.
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
        params = {
            **self.params,
            "num_boost_round": self.num_boost_round,
            "num_trees": booster.num_trees(),
            "categorical_feature": ",".join(categorical),
            "categorical_as_numeric": ",".join(as_numeric),
            "max_categorical_levels": self.max_categorical_levels,
            "holdout_fraction": self.holdout_fraction,
            "n_train": len(features),
        }
        return LightGBMModel(booster, self.spec, params)

"""A bootstrapped Tripcast in a temporary home with a real champion (LightGBM on part of green 2021-01)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.bootstrap import Tripcast, bootstrap
from tripcast.core.domain.month import Month
from tripcast.settings import Settings


def champion_tripcast(root: Path, shared_data_dir: Path, **settings: object) -> tuple[Tripcast, str]:
    """Tripcast over ``root`` with a champion trained on 20k January trips (val_rmse logged on February)."""
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    tc = bootstrap(Settings(data_dir=root / "data", **settings), local_source=shared_data_dir, allow_download=False)
    january = tc.validator.split(tc.source.load(Month(2021, 1))).valid.head(20_000)
    february = tc.validator.split(tc.source.load(Month(2021, 2))).valid.head(5_000)
    train = tc.features.training_set(january, "2021-01")
    valid = tc.features.training_set(february, "2021-02")
    model = LightGBMTrainer(tc.features.spec, num_boost_round=30).fit(train, valid)
    evaluation = tc.metrics.evaluate(model, valid)
    with tc.tracker.start_run("feedback-champion") as run:
        run.log_metrics({"val_rmse": float(evaluation.metrics["rmse"])})
        uri = run.log_model(model, tc.features.spec, train)
    version = tc.registry.register(uri, tc.settings.model_name).version
    tc.registry.set_alias(tc.settings.model_name, "champion", version)
    return tc, version


@pytest.fixture(scope="module")
def champion(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Tripcast, str]:
    return champion_tripcast(tmp_path_factory.mktemp("feedback"), shared_data_dir)

"""Real processed months (TLC reader + validator), the feature builder and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from ml_fakes import FixedClock

from tripcast.core.domain.month import Month
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator


@pytest.fixture(scope="session")
def processed_month(shared_data_dir: Path) -> Callable[[str], pd.DataFrame]:
    """Valid green trips of a month, exactly as ``tripcast validate`` produces them (cached per session)."""
    validator = PanderaTripValidator()

    @cache
    def load(month: str) -> pd.DataFrame:
        path = shared_data_dir / f"green_tripdata_{month}.parquet"
        raw = RawDataset(read_tlc_file(path, service="green"), Month.parse(month), str(path))
        return validator.split(raw).valid

    return load


@pytest.fixture(scope="session")
def feature_builder() -> TripFeatureBuilder:
    return TripFeatureBuilder()


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A registry database: a SQLite file, or a fresh PostgreSQL database (tests' own, dropped after)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mlflow.db'}"
    return str(request.getfixturevalue("postgres_url"))

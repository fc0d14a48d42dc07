"""Trip files as drift features for tests (the general read-validate-build path, with the target)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.core.ports.data import RawDataset
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.files import month_from_file_name, read_tlc_file
from tripcast.data_engineering.tlc.validation import PanderaTripValidator


def trip_spec() -> ModelSpec:
    """The taxi learning problem the drift commands watch (without zone-store features)."""
    return TRIP_DURATION_SPEC


def load_trip_features(path: Path, month: Month | None = None) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Valid trips of ``path`` as features, their durations, and quarantine counts by reason."""
    month = month or month_from_file_name(path)
    dataset = RawDataset(table=read_tlc_file(path), month=cast(Month, month), source=str(path))
    outcome = PanderaTripValidator().split(dataset)
    training = TripFeatureBuilder().training_set(outcome.valid, name=path.stem)
    return training.features, np.asarray(training.target, dtype=np.float64), dict(outcome.reasons)

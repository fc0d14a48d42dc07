"""Batch scoring adapters and their wiring: cheap path checks, the feature path each model needs, writer books."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tripcast.bootstrap import bootstrap
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.batch_scoring import CheckedBatch, ScoringPlan, TripBatch
from tripcast.core.ports.learning import FeatureBuilder, TrainingSet
from tripcast.core.services.batch_scoring import ScoringJob
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.serving.batch.checks import ArrowBatchChecker
from tripcast.mlops.serving.batch.features import RequestColumnFeatures
from tripcast.mlops.serving.batch.outputs import ParquetScoredSink
from tripcast.mlops.serving.batch.schema import SCORED_SCHEMA
from tripcast.settings import Settings

T = datetime(2021, 1, 5, 8, 30)


def trips_table() -> pa.Table:
    return pa.table(
        {
            "pickup_datetime": pa.array([T, T, T], pa.timestamp("us")),
            "pickup_zone": [74, 74, 999],
            "dropoff_zone": [75, 76, 75],
            "trip_distance": [1.5, 2.0, 1.0],
            "vendor_id": [2, None, 1],
            "passenger_count": [1.0, None, 1.0],
        }
    )


def checked_batch() -> CheckedBatch:
    return ArrowBatchChecker().check(TripBatch("jan.parquet", 10, 3, trips_table()))


def test_scoring_refuses_bad_paths_without_opening_the_registry_or_the_audit_trail(tmp_path: Path) -> None:
    tc = bootstrap(Settings(data_dir=tmp_path / "data"))
    scoring = tc.scoring
    assert isinstance(scoring.scorer.features, TripFeatureBuilder)
    with pytest.raises(NotFoundError, match="nope"):
        scoring.plan(ScoringJob(tmp_path / "nope.parquet", tmp_path / "o.parquet"))
    source = tmp_path / "in.parquet"
    pq.write_table(trips_table(), source)
    with pytest.raises(InvalidInputError, match="is an input file"):
        scoring.score(ScoringJob(source, source))
    assert "registry" not in vars(tc) and "audit" not in vars(tc)  # neither was built
    plan = scoring.plan(ScoringJob(source, tmp_path / "out" / "s.parquet"))
    assert (plan.total_rows, plan.quarantine) == (3, tmp_path / "out" / "s.quarantine.parquet")


def test_feature_store_models_get_their_features_through_requests(tmp_path: Path) -> None:  # level: intermediate
    tc = bootstrap(Settings(data_dir=tmp_path / "data", feature_store_enabled=True))
    assert isinstance(tc.scoring.scorer.features, RequestColumnFeatures)


class RecordingBuilder(FeatureBuilder):
    def __init__(self) -> None:
        self.requests: list[TripRequest] = []

    def training_set(self, trips: Any, name: str) -> TrainingSet:
        raise NotImplementedError

    def features_for_requests(self, requests: Sequence[TripRequest]) -> list[float]:
        self.requests = list(requests)
        return [r.trip_distance for r in requests]


def test_request_column_features_builds_one_request_per_valid_row() -> None:
    builder = RecordingBuilder()
    features = RequestColumnFeatures(builder).features_for_columns(checked_batch().valid)
    assert features == [1.5, 2.0]
    assert builder.requests == [TripRequest(T, 74, 75, 1.5, 2, 1), TripRequest(T, 74, 76, 2.0, None, None)]


def test_parquet_sink_writes_scored_rows_with_the_version_and_refuses_a_wrong_prediction_count(
    tmp_path: Path,
) -> None:
    plan = ScoringPlan(tmp_path, (), tmp_path / "s.parquet", tmp_path / "q.parquet", 3)
    checked = checked_batch()
    with ParquetScoredSink().open(plan, "trip-duration", "7") as writer:
        writer.write(checked, [10.0, 11.0])
    scored = pq.read_table(plan.output)
    assert scored.schema.equals(SCORED_SCHEMA)
    assert scored.to_pydict()["source_row"] == [10, 11] and set(scored.column("model_version").to_pylist()) == {"7"}
    assert pq.read_table(plan.quarantine).column("source_row").to_pylist() == [12]
    before = plan.output.read_bytes()
    with pytest.raises(ValueError, match="1 predictions for 2 rows"), ParquetScoredSink().open(plan, "m", "8") as bad:
        bad.write(checked, [10.0])
    assert plan.output.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "q.parquet",
        "s.parquet",
    ]

"""Train, register and promote through the core services on MLflow (SQLite file and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from ml_fakes import FixedClock, MemoryDatasetStore
from registry_world import NAME, PLAN, RegistryWorld

from tripcast.core.domain.errors import NotFoundError, PromotionRefusedError
from tripcast.core.domain.month import Month
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.promotion import CHALLENGER, CHAMPION, PromotionResult
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.predictor import MlflowPredictor


@pytest.fixture()
def store(processed_month: Callable[[str], pd.DataFrame]) -> MemoryDatasetStore:
    """Small slices of real months keep the flow fast while the numbers stay meaningful."""
    return MemoryDatasetStore(
        {
            Month(2021, 1): processed_month("2021-01").head(6000),
            Month(2021, 2): processed_month("2021-02").head(2000),
            Month(2021, 3): processed_month("2021-03").head(2000),
        }
    )


def test_train_register_promote_refuse_force(
    tracking_uri: str,
    tmp_path: Path,
    store: MemoryDatasetStore,
    feature_builder: TripFeatureBuilder,
    clock: FixedClock,
) -> None:
    world = RegistryWorld(tracking_uri, tmp_path, store, feature_builder, clock, "registry-flow")
    spec, registry, audit, promotion = feature_builder.spec, world.registry, world.audit, world.promotion
    validation_trips = store.load_processed(PLAN.valid_month)
    train = world.train

    def gate(ref: str, *, force: bool = False) -> PromotionResult:
        clock.moment += timedelta(minutes=1)
        candidate = promotion.candidate(NAME, ref)
        return promotion.promote(candidate, actor="pytest", reason="integration test", force=force)

    with pytest.raises(NotFoundError, match="no model named 'trip-duration' yet: run `tripcast train`"):
        registry.get(NAME, CHAMPION)

    # 1. the first version has no champion to beat
    first = train(40)
    assert first.version.version == "1"
    assert first.validation.metric("rmse") < first.baseline_validation.metric("rmse")
    assert first.version.tags["valid_digest"] == feature_builder.training_set(validation_trips, "v").digest
    result = gate("1")
    assert result.decision.approved and result.previous_champion is None
    assert registry.get(NAME, CHAMPION).version == "1"

    # 2. a much weaker model is refused, parked as challenger, and the refusal is audited
    weak = train(3)
    assert weak.version.version == "2"
    with pytest.raises(PromotionRefusedError, match="not better"):
        gate("2")
    assert registry.get(NAME, CHAMPION).version == "1"
    refused = registry.get(NAME, CHALLENGER)
    assert refused.version == "2" and refused.aliases == (CHALLENGER,)
    assert refused.tags["promotion.decision"] == "refused"
    assert refused.tags["promotion.actor"] == "pytest" and refused.tags["promotion.forced"] == "false"
    assert "not better" in refused.tags["promotion.gate"]
    assert refused.tags["promotion.at"] == clock.moment.isoformat(timespec="seconds")

    # 3. a stronger model replaces the champion
    strong = train(150)
    assert strong.validation.metric("rmse") < first.validation.metric("rmse")
    result = gate("3")
    assert result.decision.approved and result.previous_champion == "1"
    assert registry.get(NAME, CHAMPION).version == "3"
    assert registry.get(NAME, "3").tags["promotion.decision"] == "approved"

    # 4. force overrides the gate, and says so
    result = gate(CHALLENGER, force=True)
    assert result.decision.approved and result.version == "2" and "forced" in result.decision.reason
    forced = registry.get(NAME, CHAMPION)
    assert forced.version == "2" and forced.tags["promotion.forced"] == "true"

    # every registration and every alias move (intent and outcome) is in the audit trail, in order; it verifies
    trail = [(e.action, e.subject.rsplit("/", 1)[1]) for e in reversed(audit.events(limit=100))]
    assert trail == [
        ("model.registered", "1"), ("model.alias_move_started", "1"), ("model.promoted", "1"),
        ("model.registered", "2"), ("model.alias_move_started", "2"), ("model.promotion_refused", "2"),
        ("model.registered", "3"), ("model.alias_move_started", "3"), ("model.promoted", "3"),
        ("model.alias_move_started", "2"), ("model.promoted", "2"),
    ]  # fmt: skip
    assert all(e.actor == "pytest" for e in audit.events(limit=100))
    assert audit.verify().events == 11

    # listing: newest first, aliases and run metrics attached
    versions = registry.list_versions(NAME)
    assert [v.version for v in versions] == ["3", "2", "1"]
    assert versions[1].aliases == (CHALLENGER, CHAMPION)
    assert versions[0].metrics["val_rmse"] == pytest.approx(strong.validation.metric("rmse"))
    assert {"test_rmse", "val_baseline_rmse"} <= set(versions[0].metrics)
    assert all(v.run_id and v.created_at is not None for v in versions)

    # helpful errors name what exists
    with pytest.raises(NotFoundError) as missing_alias:
        registry.get(NAME, "staging")
    assert str(missing_alias.value) == (
        "alias 'staging' not set on trip-duration; versions: 1, 2, 3; aliases: challenger->2, champion->2"
    )
    assert registry.get(NAME, "v3").version == "3"
    with pytest.raises(NotFoundError, match="version 9 does not exist"):
        registry.get(NAME, "9")
    assert registry.find_alias(NAME, "staging") is None
    assert registry.alias_version(NAME, CHAMPION) == "2" and registry.alias_version(NAME, "staging") is None
    assert registry.alias_version("no-such-model", CHAMPION) is None
    assert NAME in set(registry.iter_names())
    registry.delete_alias(NAME, CHALLENGER)  # what undoing a first promotion needs
    assert registry.find_alias(NAME, CHALLENGER) is None and registry.alias_version(NAME, CHAMPION) == "2"
    if tracking_uri.startswith("postgresql"):
        # the registry really lives in PostgreSQL
        engine = sqlalchemy.create_engine(tracking_uri)
        try:
            with engine.connect() as conn:
                stored = conn.execute(sqlalchemy.text("SELECT version FROM model_versions ORDER BY version")).all()
        finally:
            engine.dispose()
        assert [int(row[0]) for row in stored] == [1, 2, 3]

    # the champion serves trip requests through the lean feature path, equal to the table path
    predictor = registry.load_predictor(NAME, "3")
    assert isinstance(predictor, MlflowPredictor)
    assert (predictor.model_name, predictor.model_version, predictor.flavor) == (NAME, "3", "lightgbm")
    assert predictor.spec is spec and predictor.metrics["val_rmse"] == versions[0].metrics["val_rmse"]
    sample = validation_trips.head(100)
    requests = [
        TripRequest.create(
            pickup_datetime=row.pickup_datetime.to_pydatetime(),
            pickup_zone=int(row.pickup_zone),
            dropoff_zone=int(row.dropoff_zone),
            trip_distance=float(row.trip_distance),
        )
        for row in sample.itertuples()
    ]
    by_trips = np.array(predictor.predict_trips(requests))
    by_table = predictor.predict_features(feature_builder.training_set(sample, "s").features)
    np.testing.assert_allclose(by_trips, by_table, rtol=1e-12)
    assert predictor.predict_trips([]) == []
    assert 1.0 < float(np.median(by_trips)) < 40.0

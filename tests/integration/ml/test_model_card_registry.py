"""Model cards on a real MLflow registry (SQLite file and PostgreSQL) from models trained on real TLC months."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from ml_fakes import FixedClock, MemoryDatasetStore
from registry_world import NAME, RegistryWorld

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.model_card import CARD_HTML, CARD_MARKDOWN, CARD_WRITTEN
from tripcast.core.domain.month import Month
from tripcast.core.services.model_card import ModelCards
from tripcast.core.services.promotion import CHAMPION
from tripcast.data_engineering.features.card_facts import (
    TRIP_INTENDED_USE,
    TRIP_LIMITATIONS,
    trip_slice_dimensions,
)
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_cards.card_store import CARD_TAG, MlflowCardStore
from tripcast.mlops.model_cards.lineage import AuditAliasHistory, MlflowTrainingRecords
from tripcast.mlops.model_cards.render import MarkdownHtmlCardRenderer
from tripcast.mlops.model_cards.slicing import ColumnSlicer

SECTIONS = (
    "# Model card: trip-duration v2",
    "## Intended use",
    "## Training data",
    "## Features",
    "## Metrics",
    "## Comparison with the previous champion",
    "## Known limitations",
    "## Lineage",
    "## Approvals",
)


def test_card_of_a_promoted_version_on_real_data(
    tracking_uri: str,
    tmp_path: Path,
    processed_month: Callable[[str], pd.DataFrame],
    feature_builder: TripFeatureBuilder,
    clock: FixedClock,
) -> None:
    store = MemoryDatasetStore(
        {
            Month(2021, 1): processed_month("2021-01").head(6000),
            Month(2021, 2): processed_month("2021-02").head(3000),
            Month(2021, 3): processed_month("2021-03").head(2000),
        }
    )
    world = RegistryWorld(tracking_uri, tmp_path, store, feature_builder, clock, "model-cards")
    spec, metrics, registry, audit, promotion = (
        feature_builder.spec,
        world.metrics,
        world.registry,
        world.audit,
        world.promotion,
    )
    for rounds in (5, 40):  # v1 weak, v2 better: v2 replaces v1 as champion
        version = world.train(rounds).version
        clock.moment += timedelta(minutes=1)
        promotion.promote(promotion.candidate(NAME, version.version), actor="pytest", reason="card test", force=True)
    cards = ModelCards(
        registry=registry,
        store=store,
        features=feature_builder,
        metrics=metrics,
        slicer=ColumnSlicer(trip_slice_dimensions(), spec.feature_names),
        training_records=MlflowTrainingRecords(tracking_uri),
        alias_history=AuditAliasHistory(audit),
        renderer=MarkdownHtmlCardRenderer(),
        card_store=MlflowCardStore(tracking_uri),
        audit=audit,
        clock=clock,
        intended_use=TRIP_INTENDED_USE,
        limitations=TRIP_LIMITATIONS,
    )

    written = cards.write(NAME, CHAMPION, actor="pytest")

    card = written.card
    valid = feature_builder.training_set(store.load_processed(Month(2021, 2)), "2021-02")
    assert card.version.version == "2" and card.overall.n == len(valid) == 3000
    assert card.overall.metric("rmse") == pytest.approx(
        metrics.evaluate(registry.load_predictor(NAME, "2"), valid).metric("rmse")
    )
    _assert_slices_add_up(card.overall.metrics, card.overall.n, [(s.n, s.metrics) for s in card.slices], 3)
    assert {s.dimension for s in card.slices} == {"pickup borough", "hour band", "distance band"}
    assert "Manhattan" in {s.label for s in card.slices_of("pickup borough")}
    # training data: what the run logged, with row counts and the digest the version carries
    roles = {d.context: d for d in card.training.datasets}
    assert roles["training"].rows == 6000 and roles["validation"].rows == 3000
    assert roles["validation"].digest == card.version.tags["valid_digest"] == valid.digest
    assert card.training.params["train_month"] == "2021-01" and card.training.experiment_id
    # comparison and lineage from the audit trail
    assert card.previous_champion is not None and card.previous_champion.version == "1"
    assert card.previous_champion.overall.n == 3000
    assert card.previous_champion.overall.metric("rmse") > card.overall.metric("rmse")
    assert [(c.alias, c.previous, c.version) for c in card.alias_history] == [(CHAMPION, "", "1"), (CHAMPION, "1", "2")]
    assert card.approvals == ()
    # the stored artifacts are the rendered documents, and the version points at them
    stored = MlflowCardStore(tracking_uri)
    version = registry.get(NAME, "2")
    assert stored.read(version, CARD_MARKDOWN) == written.markdown
    assert stored.read(version, CARD_HTML) == written.html
    assert version.tags[CARD_TAG] == "model_card/v2"
    positions = [written.markdown.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    assert "## Approvals\n\nNone recorded." in written.markdown
    assert f"| 2021-02 | 3,000 | {card.overall.metric('rmse'):.4g} |" in written.markdown
    assert written.html.count("<svg") == 3 and "previous champion v1" in written.html
    (event,) = audit.events(subject_prefix=f"model:{NAME}/2", actions=[CARD_WRITTEN])
    assert event.details["artifact.model_card.md"] == written.artifacts[CARD_MARKDOWN]
    assert event.details["previous_champion"] == "1" and event.details["rows"] == "3000"

    # bad input: an unknown version is one clear error, and nothing is written
    before = len(audit.events(limit=1000))
    with pytest.raises(NotFoundError, match=r"version 9 does not exist on trip-duration; versions: 1, 2"):
        cards.write(NAME, "9", actor="pytest")
    assert len(audit.events(limit=1000)) == before


def _assert_slices_add_up(
    overall: dict[str, float], n: int, slices: list[tuple[int, dict[str, float]]], dimensions: int
) -> None:
    """Each dimension's slices cover every row once, so their counts sum to the total and their squared and
    absolute errors recombine into the overall RMSE and MAE."""
    assert sum(count for count, _ in slices) == dimensions * n
    squared = sum(count * m["rmse"] ** 2 for count, m in slices) / (dimensions * n)
    absolute = sum(count * m["mae"] for count, m in slices) / (dimensions * n)
    assert math.sqrt(squared) == pytest.approx(overall["rmse"], rel=1e-9)
    assert absolute == pytest.approx(overall["mae"], rel=1e-9)
